using System.Net;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Admins;

/// <summary>Sign-in as an attacker tries it: many guesses at once, on several instances, at names that may not exist.</summary>
public abstract class SignInUnderAttackTests(MamaApp app)
{
    [Fact]
    public async Task FortyWrongPasswordsAtOnceAreNeverMoreThanFiveEvaluatedAndTheRightOneAfterwardsIsLockedOut()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();

        var statuses = await GuessInParallelAsync([app.Host], username, 40);

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(35, statuses.Count(s => s == (HttpStatusCode)423));
        using var client = app.CreateClient();
        await (await client.PostJsonAsync("/api/v1/auth/token", new { username, password })).AssertProblemAsync((HttpStatusCode)423);
        await using var db = app.NewDbContext();
        Assert.Equal(5, await db.AuditEvents.CountAsync(e => e.Actor == username && e.Action == "auth.login" && e.StatusCode == 401));
    }

    [Fact]
    public async Task GuessesSpreadOverTwoInstancesShareOneCount()
    {
        var (username, password) = await app.NewAdminMustChangeAsync();
        await using var second = app.StartHost();

        var statuses = await GuessInParallelAsync([app.Host, second], username, 40);

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        using var client = second.CreateClient();
        await (await client.PostJsonAsync("/api/v1/auth/token", new { username, password })).AssertProblemAsync((HttpStatusCode)423);
    }

    [Fact]
    public async Task AnUnknownUsernameGetsExactlyTheAnswersOfAKnownOne()
    {
        var (known, _) = await app.NewAdminMustChangeAsync();
        var unknown = "nobody-" + Guid.NewGuid().ToString("N")[..8];
        using var client = app.CreateClient();

        async Task<List<string>> SequenceAsync(string username)
        {
            var answers = new List<string>();
            for (var i = 0; i < 7; i++)
            {
                var response = await client.PostJsonAsync("/api/v1/auth/token", new { username, password = $"guess-number-{i}" });
                var problem = await response.AssertProblemAsync(response.StatusCode);
                answers.Add($"{(int)response.StatusCode} {problem.GetProperty("detail").GetString()} {response.Headers.RetryAfter is not null}");
            }
            return answers;
        }

        var knownAnswers = await SequenceAsync(known);
        Assert.Equal(knownAnswers, await SequenceAsync(unknown));
        Assert.Equal(["401", "401", "401", "401", "401", "423", "423"], knownAnswers.Select(a => a[..3]));
    }

    [Fact]
    public async Task ASignInWithAnUnknownNameIsAuditedWithoutTheNameButWithAHashThatMatchesRepeats()
    {
        // People type their password into the username field: what was typed must not be stored.
        var typed = "Pa55-" + Guid.NewGuid().ToString("N");
        using var client = app.CreateClient();
        for (var i = 0; i < 2; i++)
            await (await client.PostJsonAsync("/api/v1/auth/token", new { username = typed, password = "whatever-it-is" })).AssertProblemAsync(HttpStatusCode.Unauthorized);

        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "auth.login" && e.Reason == "unknown username").OrderByDescending(e => e.Id).Take(2).ToListAsync();
        Assert.Equal(2, events.Count);
        Assert.All(events, e =>
        {
            Assert.Equal(("anonymous", AuditResult.Failure, 401), (e.Actor, e.Result, e.StatusCode));
            Assert.DoesNotContain(typed, e.Detail + e.Reason + e.Actor + e.UserIds);
            Assert.DoesNotContain(typed.ToUpperInvariant(), e.Detail.ToUpperInvariant());
        });
        Assert.Equal(events[0].Detail, events[1].Detail);
        Assert.Contains("unknown_username", events[0].Detail);
        Assert.Equal(0, await db.Set<Mama.Admins.SignInAttempts>().CountAsync(a => a.NameHash.Contains(typed)));
    }

    [Fact]
    public async Task OneAddressThatSignsInTooOftenGets429WithRetryAfterWhileAnotherHostIsUnaffected()
    {
        await using var limited = app.StartHost(new Dictionary<string, string?> { ["Mama:SignIn:AttemptsPerMinutePerAddress"] = "3" });
        using var client = limited.CreateClient();
        for (var i = 0; i < 3; i++)
            await (await client.PostJsonAsync("/api/v1/auth/token", new { username = "someone-" + i, password = "a-guess-at-it" })).AssertProblemAsync(HttpStatusCode.Unauthorized);

        var refused = await client.PostJsonAsync("/api/v1/auth/token", new { username = "admin", password = MamaApp.SuperAdminPassword });
        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        Assert.Contains("Too many sign-in attempts", problem.GetProperty("detail").GetString());
        // Reading the sign-in page is not an attempt.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/login")).StatusCode);
        await MamaApp.TokenAsync(app.CreateClient(), "admin", MamaApp.SuperAdminPassword);
    }

    [Fact]
    public async Task GuessedNamesIdleForADayAreDeletedAtTheNextSuccessfulSignInAndRecentOnesKept()
    {
        var now = DateTimeOffset.UtcNow;
        var (old, recent) = ("old-" + Guid.NewGuid().ToString("N"), "new-" + Guid.NewGuid().ToString("N"));
        await using (var db = app.NewDbContext())
        {
            db.Set<Mama.Admins.SignInAttempts>().AddRange(
                new Mama.Admins.SignInAttempts { NameHash = old, Failures = 3, LastAttemptAt = now.AddDays(-2).ToUnixTimeMilliseconds() },
                new Mama.Admins.SignInAttempts { NameHash = recent, Failures = 3, LastAttemptAt = now.AddHours(-2).ToUnixTimeMilliseconds() });
            await db.SaveChangesAsync();
        }

        await MamaApp.TokenAsync(app.CreateClient(), "admin", MamaApp.SuperAdminPassword);

        await using var after = app.NewDbContext();
        var left = await after.Set<Mama.Admins.SignInAttempts>().Where(a => a.NameHash == old || a.NameHash == recent).Select(a => a.NameHash).ToListAsync();
        Assert.Equal([recent], left);
    }

    private static async Task<HttpStatusCode[]> GuessInParallelAsync(MamaHost[] hosts, string username, int count)
    {
        var clients = hosts.Select(h => h.CreateClient()).ToArray();
        try
        {
            using var start = new SemaphoreSlim(0);
            var guesses = Enumerable.Range(0, count).Select(async i =>
            {
                await start.WaitAsync();
                var response = await clients[i % clients.Length].PostJsonAsync("/api/v1/auth/token", new { username, password = $"wrong-guess-{i}" });
                return response.StatusCode;
            }).ToList();
            start.Release(count);
            return await Task.WhenAll(guesses);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }
}

public sealed class SignInUnderAttackTestsOnSqlite(SqliteApp app) : SignInUnderAttackTests(app), IClassFixture<SqliteApp>;
public sealed class SignInUnderAttackTestsOnPostgres(PostgresApp app) : SignInUnderAttackTests(app), IClassFixture<PostgresApp>;
