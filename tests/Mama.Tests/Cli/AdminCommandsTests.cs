using System.Net;
using System.Text.RegularExpressions;
using Mama.Admins;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll admin …</c> as a real process on the fixture's database, while the fixture's mama serves HTTP.</summary>
public abstract partial class AdminCommandsTests(MamaApp app)
{
    [Fact]
    public async Task ResetPasswordUnlocksTheAccountEndsItsTokensAndPrintsOnceAPasswordThatSignsInOnlyToBeChanged()
    {
        var (username, oldPassword, oldClient) = await app.NewAdminAsync();
        using var anonymous = app.CreateClient();
        for (var i = 0; i < 5; i++)
            await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = $"wrong-{i}" })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = oldPassword })).AssertProblemAsync((HttpStatusCode)423);

        var run = await CliRun.AgainstAsync(app, "admin", "reset-password", username);

        Assert.True(run.ExitCode == 0, run.Output);
        var password = OneTimePassword().Match(run.Output).Groups[1].Value;
        Assert.Equal(20, password.Length);
        Assert.Single(Regex.Matches(run.Output, Regex.Escape(password)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await oldClient.GetAsync("/api/v1/auth/me")).StatusCode);

        var token = await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password })).ReadAsync<TokenResponse>();
        Assert.True(token.MustChangePassword);
        using var signedIn = app.CreateClient();
        signedIn.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        Assert.True((await (await signedIn.GetAsync("/api/v1/auth/me")).ReadAsync<MeResponse>()).MustChangePassword);
        await (await signedIn.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = oldPassword })).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await MamaApp.ChangePasswordAsync(app.CreateClient(), username, password, "chosen-" + Guid.NewGuid().ToString("N"));

        await using var db = app.NewDbContext();
        var reset = await db.AuditEvents.Where(e => e.Action == "admin.password_reset" && e.Detail.Contains(username)).SingleAsync();
        Assert.Equal("system:cli", reset.Actor);
        Assert.Equal(Mama.Audit.AuditResult.Success, reset.Result);
        Assert.False(await db.AuditEvents.AnyAsync(e => e.Detail.Contains(password) || (e.Reason != null && e.Reason.Contains(password))));
    }

    [Fact]
    public async Task ResetPasswordOfAnUnknownAdminFailsWithExitCodeOneAndSaysSo()
    {
        var nobody = "nobody-" + Guid.NewGuid().ToString("N")[..8];

        var run = await CliRun.AgainstAsync(app, "admin", "reset-password", nobody);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"No admin named '{nobody}'.", run.Output);
        Assert.DoesNotContain("   at ", run.Output);
    }

    [Fact]
    public async Task AdminListShowsEachAccountsRoleLockMustChangeAndLastSignIn()
    {
        var (fresh, _) = await app.NewAdminMustChangeAsync();
        var (locked, _, _) = await app.NewAdminAsync("super_admin");
        using var anonymous = app.CreateClient();
        for (var i = 0; i < 5; i++)
            await (await anonymous.PostJsonAsync("/api/v1/auth/token", new { username = locked, password = $"wrong-{i}" })).AssertProblemAsync(HttpStatusCode.Unauthorized);

        var run = await CliRun.AgainstAsync(app, "admin", "list");

        Assert.True(run.ExitCode == 0, run.Output);
        var rows = run.Output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(c => c.Length > 0).GroupBy(c => c[0]).ToDictionary(g => g.Key, g => g.First());
        Assert.Equal(["USERNAME", "ROLE", "LOCKED", "MUST", "CHANGE", "LAST", "SIGN-IN", "(UTC)"], rows["USERNAME"]);
        Assert.Equal([fresh, "admin", "no", "yes", "never"], rows[fresh]);
        Assert.Equal([locked, "super_admin", "yes", "no"], rows[locked][..4]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", string.Join(' ', rows[locked][4..]));
        Assert.Equal(["admin", "super_admin", "no", "no"], rows["admin"][..4]);
    }

    [GeneratedRegex(@"^ {4}(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex OneTimePassword();
}

public sealed class AdminCommandsTestsOnSqlite(SqliteApp app) : AdminCommandsTests(app), IClassFixture<SqliteApp>;
public sealed class AdminCommandsTestsOnPostgres(PostgresApp app) : AdminCommandsTests(app), IClassFixture<PostgresApp>;
