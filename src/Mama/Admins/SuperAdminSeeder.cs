using Mama.Audit;
using Mama.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Mama.Admins;

/// <summary>
/// At first start, creates the roles and, if no super admin exists, <c>admin</c> with the bootstrap password:
/// <c>Mama:BootstrapAdminPassword</c> if set; otherwise <c>admin</c> in Development, and elsewhere a random one-time
/// password printed once to the console (never to a log or the audit). Whichever it is, it must be changed at first
/// sign-in. Once a super admin exists it does nothing: a restart neither recreates nor resets an account.
/// </summary>
public sealed class SuperAdminSeeder(
    UserManager<AdminAccount> accounts,
    RoleManager<IdentityRole> roles,
    MamaDbContext db,
    AuditLog audit,
    IConfiguration configuration,
    IHostEnvironment environment,
    TimeProvider clock,
    ILogger<SuperAdminSeeder> logger)
{
    public const string BootstrapUsername = "admin";

    public async Task SeedAsync(CancellationToken ct)
    {
        // One transaction from the first read: on SQLite it is BEGIN IMMEDIATE, so a second process started on the same
        // file waits here and then finds everything done (on PostgreSQL the setup lock already serialises instances).
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        foreach (var role in Roles.All)
            if (!await roles.RoleExistsAsync(role))
                Require(await roles.CreateAsync(new IdentityRole(role)), $"the role {role}");

        if ((await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Count > 0)
        {
            await tx.CommitAsync(ct);
            return;
        }

        var configured = configuration["Mama:BootstrapAdminPassword"];
        var printed = string.IsNullOrEmpty(configured) && !environment.IsDevelopment();
        var password = !string.IsNullOrEmpty(configured) ? configured
            : printed ? PasswordRules.NewOneTimePassword()
            : PasswordRules.DefaultPassword;
        var account = new AdminAccount
        {
            UserName = BootstrapUsername,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = "system",
            // Someone else chose this password (or it is printed on a console): it is good only for changing it.
            MustChangePassword = true,
        };
        account.PasswordHash = accounts.PasswordHasher.HashPassword(account, password);

        audit.Stage(db, new AuditEntry(Actor.System, "admin.bootstrap", AuditResult.Success, 201, Detail: new { username = BootstrapUsername }));
        Require(await accounts.CreateAsync(account), "the bootstrap super admin");
        Require(await accounts.AddToRoleAsync(account, Roles.SuperAdmin), "the bootstrap super admin's role");
        await tx.CommitAsync(ct);

        if (printed)
        {
            // The console only: a log sink may be a file or a collector, and this password must exist in one place.
            Console.Out.WriteLine($"""

                mama created the super admin '{BootstrapUsername}' with this one-time password (shown once, never logged):

                    {password}

                Sign in with it and choose a new password. To set it yourself instead, start the first time with Mama__BootstrapAdminPassword.

                """);
            await Console.Out.FlushAsync(ct);
        }
        logger.LogWarning("Created the super admin '{Username}'. Sign in and change its password.", BootstrapUsername);
    }

    private static void Require(IdentityResult result, string what)
    {
        if (!result.Succeeded) throw new InvalidOperationException($"Could not create {what}: " + string.Join(" ", result.Errors.Select(e => e.Description)));
    }
}

public static class SuperAdminBootstrap
{
    public static IServiceCollection AddSuperAdminBootstrap(this IServiceCollection services)
    {
        services.AddScoped<SuperAdminSeeder>();
        services.AddOptions<BootstrapOptions>().BindConfiguration("Mama").ValidateOnStart();
        return services.AddSingleton<IValidateOptions<BootstrapOptions>, BootstrapOptionsValidator>();
    }
}

public sealed class BootstrapOptions
{
    public string? BootstrapAdminPassword { get; set; }
}

/// <summary>Outside Development a configured bootstrap password must pass the password rules: never admin/admin in Production.</summary>
public sealed class BootstrapOptionsValidator(IHostEnvironment env) : IValidateOptions<BootstrapOptions>
{
    public ValidateOptionsResult Validate(string? name, BootstrapOptions options) =>
        env.IsDevelopment() || string.IsNullOrEmpty(options.BootstrapAdminPassword)
        || options.BootstrapAdminPassword.Length >= PasswordRules.MinLength
            && !string.Equals(options.BootstrapAdminPassword, PasswordRules.DefaultPassword, StringComparison.OrdinalIgnoreCase)
            && !string.Equals(options.BootstrapAdminPassword, SuperAdminSeeder.BootstrapUsername, StringComparison.OrdinalIgnoreCase)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Mama:BootstrapAdminPassword (env Mama__BootstrapAdminPassword) must be at least {PasswordRules.MinLength} characters and not 'admin' outside Development; or leave it unset to get a one-time password on the console.");
}
