using System.CommandLine;
using System.Globalization;
using Mama.Admins;
using Mama.Audit;

namespace Mama.Cli;

/// <summary><c>admin reset-password &lt;username&gt;</c> and <c>admin list</c>: what an operator with shell access can do when no super admin can sign in.</summary>
public static class AdminCommands
{
    public static Command Create(IServiceProvider services) =>
        new("admin", "Admin accounts from the console: reset a password (break glass), list the accounts.") { ResetPassword(services), List(services) };

    private static Command ResetPassword(IServiceProvider services)
    {
        var username = new Argument<string>("username") { Description = "The admin whose password is reset." };
        var command = new Command("reset-password",
            "Break glass: give the admin a one-time password, printed once here and never logged; it unlocks the account, " +
            "ends its sessions and tokens, and must be changed at the next sign-in. Audited as system:cli.")
        {
            username,
        };
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            var name = parsed.GetValue(username)!;
            var password = PasswordRules.NewOneTimePassword();
            await using var scope = services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<AdminService>().ResetPasswordAsync(name, password, Actor.Cli, ct);
            // Standard output only, never the logging pipeline: the password exists on this console and nowhere else.
            Console.Out.WriteLine($"""
                The password of '{name}' was reset; the account is unlocked and its sessions ended. One-time password (shown once):

                    {password}

                Sign in with it and choose a new password.
                """);
            return 0;
        }));
        return command;
    }

    private static Command List(IServiceProvider services)
    {
        var command = new Command("list", "List the admin accounts: role, locked out, must change the password, last sign-in.");
        command.SetAction((_, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            await using var scope = services.CreateAsyncScope();
            var service = scope.ServiceProvider.GetRequiredService<AdminService>();
            var admins = (await service.ListAsync(ct)).Items;
            var lastSignIns = await service.LastSignInsAsync(admins.Select(a => a.Username).ToList(), ct);
            string[][] rows =
            [
                ["USERNAME", "ROLE", "LOCKED", "MUST CHANGE", "LAST SIGN-IN (UTC)"],
                .. admins.Select(a => new[]
                {
                    a.Username, a.Role == Roles.SuperAdmin ? "super_admin" : "admin", YesNo(a.LockedOut), YesNo(a.MustChangePassword),
                    lastSignIns.TryGetValue(a.Username, out var at) ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "never",
                }),
            ];
            var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (var row in rows)
                Console.Out.WriteLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            return 0;
        }));
        return command;
    }

    private static string YesNo(bool value) => value ? "yes" : "no";
}
