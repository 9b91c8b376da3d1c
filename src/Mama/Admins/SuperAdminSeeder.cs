using Mama.Audit;
using Mama.Data;
using Microsoft.AspNetCore.Identity;

namespace Mama.Admins;

/// <summary>
/// At first start, creates the roles and, if no super admin exists, <c>admin</c> with the bootstrap password.
/// Once a super admin exists it does nothing: a restart neither recreates nor resets an account.
/// </summary>
public sealed class SuperAdminSeeder(
    UserManager<AdminAccount> accounts,
    RoleManager<IdentityRole> roles,
    MamaDbContext db,
    AuditLog audit,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<SuperAdminSeeder> logger)
{
    public const string BootstrapUsername = "admin";

    public async Task SeedAsync(CancellationToken ct)
    {
        foreach (var role in Roles.All)
            if (!await roles.RoleExistsAsync(role))
                await roles.CreateAsync(new IdentityRole(role));

        if ((await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Count > 0) return;

        var configured = configuration["Mama:BootstrapAdminPassword"];
        var password = string.IsNullOrEmpty(configured) ? PasswordRules.DefaultPassword : configured;
        var account = new AdminAccount
        {
            UserName = BootstrapUsername,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = "system",
            MustChangePassword = password == PasswordRules.DefaultPassword,
        };
        // The default "admin" fails the password rules on purpose; the first sign-in must replace it.
        account.PasswordHash = accounts.PasswordHasher.HashPassword(account, password);

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        audit.Stage(db, new AuditEntry(Actor.System, "admin.bootstrap", AuditResult.Success, 201, Detail: new { username = BootstrapUsername }));
        var created = await accounts.CreateAsync(account);
        if (!created.Succeeded) throw new InvalidOperationException("Could not create the bootstrap super admin: " + string.Join(" ", created.Errors.Select(e => e.Description)));
        await accounts.AddToRoleAsync(account, Roles.SuperAdmin);
        await tx.CommitAsync(ct);
        logger.LogWarning("Created the super admin '{Username}'. Sign in and change its password.", BootstrapUsername);
    }
}
