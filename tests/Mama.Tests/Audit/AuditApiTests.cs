using System.Net;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Audit;

public abstract class AuditApiTests(MamaApp app)
{
    [Fact]
    public async Task EventsFilterByActorActionResultAndTimeRange()
    {
        var (username, password, client) = await app.NewAdminAsync();
        using var anonymous = app.CreateClient();
        await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = "wrong-password-1" });
        await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = "wrong-password-2" });
        await MamaApp.TokenAsync(anonymous, username, password);

        var mine = await QueryAsync(client, $"actor={username}");
        // Becoming an admin is three events (sign in, change the password someone else set, sign in), then three more.
        Assert.Equal(6, mine.Total);
        Assert.All(mine.Items, e => Assert.Equal(username, e.Actor));
        Assert.Equal(mine.Items.Select(e => e.Id).OrderDescending(), mine.Items.Select(e => e.Id)); // newest first

        var failures = await QueryAsync(client, $"actor={username}&action=auth.login&result=failure");
        Assert.Equal(2, failures.Total);
        Assert.All(failures.Items, e => Assert.Equal(("auth.login", "failure", 401), (e.Action, e.Result, e.StatusCode)));

        var newest = mine.Items[0].At;
        var oldest = mine.Items[^1].At;
        var window = await QueryAsync(client, $"actor={username}&from={Uri.EscapeDataString(newest.ToString("O"))}");
        Assert.All(window.Items, e => Assert.True(e.At >= newest));
        Assert.Contains(window.Items, e => e.Id == mine.Items[0].Id);
        var before = await QueryAsync(client, $"actor={username}&to={Uri.EscapeDataString(oldest.ToString("O"))}");
        Assert.All(before.Items, e => Assert.True(e.At <= oldest));
        Assert.Contains(before.Items, e => e.Id == mine.Items[^1].Id);
        Assert.Equal(0, (await QueryAsync(client, $"actor={username}&from={Uri.EscapeDataString(newest.AddMinutes(1).ToString("O"))}")).Total);
    }

    [Fact]
    public async Task PagesDoNotOverlapEvenWhenNewEventsArrive()
    {
        var (username, password, client) = await app.NewAdminAsync();
        using var anonymous = app.CreateClient();
        // Ten events in all (three from becoming an admin), never five failures in a row (that would lock the account).
        for (var i = 0; i < 4; i++) await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = $"nope-{i}-{i}-{i}" });
        await MamaApp.TokenAsync(anonymous, username, password);
        for (var i = 0; i < 2; i++) await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = $"nope-{i}-{i}-{i}" });

        var first = await QueryAsync(client, $"actor={username}&page_size=4&page=1");
        // Events written between page requests must not shift the next page.
        await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = "one-more-wrong" });
        var second = await QueryAsync(client, $"actor={username}&page_size=4&page=2&as_of_id={first.AsOfId}");
        var third = await QueryAsync(client, $"actor={username}&page_size=4&page=3&as_of_id={first.AsOfId}");

        var ids = first.Items.Concat(second.Items).Concat(third.Items).Select(e => e.Id).ToList();
        Assert.Equal(10, first.Total);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(10, ids.Count);
        Assert.Equal(ids.OrderDescending(), ids);
    }

    [Fact]
    public async Task NoEventHoldsAPasswordOrAToken()
    {
        var (username, password, client) = await app.NewAdminAsync();
        using var anonymous = app.CreateClient();
        var token = (await MamaApp.TokenAsync(anonymous, username, password)).AccessToken;
        await anonymous.PostJsonAsync("/api/v1/auth/token", new { username, password = "secret-typo-password" });
        await client.PostJsonAsync("/api/v1/auth/password", new { current_password = password, new_password = "secret-new-password" });
        using var super = await app.SuperAdminAsync();
        await super.PostJsonAsync("/api/v1/admins", new { username = username + "x", password = "secret-created-password" });
        await super.PutJsonAsync($"/api/v1/admins/{username}x/password", new { new_password = "secret-reset-password" });
        await super.PutJsonAsync($"/api/v1/admins/{username}x/password", new { new_password = "short" });

        await using var db = app.NewDbContext();
        var everything = string.Join("\n", (await db.AuditEvents.ToListAsync()).Select(e => $"{e.Actor}|{e.Action}|{e.UserIds}|{e.Detail}|{e.Reason}"));
        Assert.Contains(username, everything);
        foreach (var secret in new[] { password, "secret-typo-password", "secret-new-password", "secret-created-password", "secret-reset-password", "short", token, MamaApp.SuperAdminPassword })
            Assert.DoesNotContain(secret, everything);
    }

    [Fact]
    public async Task BadFiltersAre400NamingTheField()
    {
        var (_, _, client) = await app.NewAdminAsync();
        var problem = await (await client.GetAsync("/api/v1/audit?result=maybe&page_size=100000&page=0")).AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "result", "page_size", "page" }) Assert.True(errors.TryGetProperty(field, out _), field);
        await (await client.GetAsync("/api/v1/audit?from=yesterday")).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    private static Task<AuditPage> QueryAsync(HttpClient client, string query) =>
        client.GetAsync("/api/v1/audit?" + query).ContinueWith(t => t.Result.ReadAsync<AuditPage>()).Unwrap();
}

public sealed class AuditApiTestsOnSqlite(SqliteApp app) : AuditApiTests(app), IClassFixture<SqliteApp>;
public sealed class AuditApiTestsOnPostgres(PostgresApp app) : AuditApiTests(app), IClassFixture<PostgresApp>;
