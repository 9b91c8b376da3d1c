using System.Text.RegularExpressions;
using Mama.LiteLlm;
using Mama.Observability;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Mama.Tests.Observability;

public abstract partial class QuietLogTests(ObservedApp app)
{
    [Fact]
    public async Task AnIdleMamaWritesNoInformationLineOverSeveralReconcileCycles()
    {
        var reconciler = app.Service<KeyReconciler>();
        await MamaApp.EventuallyAsync(() => Task.FromResult(!reconciler.ProxyDown && reconciler.AliveCycles > 0), "the reconciler runs with the proxy up");
        // The events of the start (sign-ins) are signed once, a line that keeps a copy of the checkpoint; then nothing.
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.Logs.Since(0).Any(l => l.Message.StartsWith("Audit checkpoint signed", StringComparison.Ordinal))),
            "the start's events are signed");
        var mark = app.Logs.Count;
        var cycles = reconciler.AliveCycles;

        await MamaApp.EventuallyAsync(() => Task.FromResult(reconciler.AliveCycles >= cycles + 5), "five more reconcile cycles (health polls included)");

        Assert.Empty(app.Logs.Since(mark).Where(l => l.Level >= LogLevel.Information).Select(l => $"{l.Level} {l.Category}: {l.Message}"));
    }

    [Fact]
    public async Task LiteLlmGoingDownAndComingBackIsOneLineEachAndNoLineHoldsASecret()
    {
        using var recorded = new MetricsRecorder(app.Service<MamaMetrics>().Meter);
        var mark = app.Logs.Count;
        try
        {
            app.LiteLlm.SetDown(true);
            await MamaApp.EventuallyAsync(() => Task.FromResult(recorded["mama.litellm.request.failures"] >= 6), "several health polls fail");
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.Logs.Since(mark).Any(l => l.Message.StartsWith("LiteLLM answers again", StringComparison.Ordinal))),
            "a line says the proxy is back");

        var lines = app.Logs.Since(mark);
        Assert.Single(lines, l => l.Level == LogLevel.Warning && l.Message.StartsWith("LiteLLM is not answering", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Level == LogLevel.Information && l.Message.StartsWith("LiteLLM answers again", StringComparison.Ordinal));
        AssertNoSecret(app.Logs.Since(0));
    }

    [Fact]
    public async Task AFinishedRotationIsOneLineThatHoldsNeitherKey()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.LiteLlm.FindKeyByAlias(id) is not null), "the user's key reaches the proxy");
        var before = app.LiteLlm.FindKeyByAlias(id)!.Key!;

        var started = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { id }, grace = "0" })).ReadAsync<RotateResponse>(System.Net.HttpStatusCode.Accepted);

        var finished = $"Rotation {started.RotationId} finished: 1 keys rotated, 0 failed";
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.Logs.Since(0).Any(l => l.Message.StartsWith(finished, StringComparison.Ordinal))), "the rotation's finish is logged");
        var after = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        Assert.NotEqual(before, after);
        var lines = app.Logs.Since(0);
        Assert.Single(lines, l => l.Level == LogLevel.Information && l.Message.StartsWith(finished, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain(before, l.Message));
        Assert.All(lines, l => Assert.DoesNotContain(after, l.Message));
        AssertNoSecret(lines);
    }

    [Fact]
    public async Task AUserEnteringErrorIsOneLineHowEverOftenTheRetryFailsAndTheLineHoldsNoKey()
    {
        using var admin = await app.SuperAdminAsync();
        var mark = app.Logs.Count;
        var id = UserTestData.NewId();
        app.LiteLlm.SetRefusal("/key/generate", 422, "Rejected by a policy hook: {key}");
        try
        {
            await admin.CreateUsersAsync([UserTestData.Row(id)]);
            await MamaApp.EventuallyAsync(async () =>
            {
                await using var db = app.NewDbContext();
                return await db.KeyUsers.AnyAsync(u => u.UserId == id && u.SyncState == SyncState.Error && u.SyncAttempts >= 3);
            }, "the user is in error and the reconciler retried it");
            // The reconciler refreshes the gauge's counts at most every 30 s.
            await MamaApp.EventuallyAsync(async () => ErrorGauge().IsMatch(await app.ScrapeAsync()), "the sync gauge counts the user in error", TimeSpan.FromSeconds(60));
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }
        var key = await KeyOfAsync(admin, id);

        var lines = app.Logs.Since(mark).Where(l => l.Message.Contains(id, StringComparison.Ordinal) && l.Level >= LogLevel.Information).ToList();
        var line = Assert.Single(lines);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.StartsWith($"User {id} is in error", line.Message);
        Assert.All(app.Logs.Since(mark), l => Assert.DoesNotContain(key, l.Message));
        AssertNoSecret(app.Logs.Since(mark));
    }

    private async Task<string> KeyOfAsync(HttpClient admin, string id)
    {
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "c-" + Guid.NewGuid().ToString("N")[..8], service = "billing", scope = "all" }))
            .ReadAsync<Mama.ApiClients.CreatedApiClientResponse>(System.Net.HttpStatusCode.Created);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).ReadAsync<Mama.ApiClients.LookupResponse>();
        return Assert.Single(found.Users).Key;
    }

    private static void AssertNoSecret(IEnumerable<LogLine> lines) =>
        Assert.All(lines, l =>
        {
            Assert.DoesNotContain(MamaApp.MasterKey, l.Message);
            Assert.DoesNotContain(ObservedApp.MetricsToken, l.Message);
            Assert.DoesNotMatch(Key(), l.Message);
        });

    [GeneratedRegex(@"^mama_sync_users\{[^}]*mama_sync_state=""error""[^}]*\} [1-9]", RegexOptions.Multiline)]
    private static partial Regex ErrorGauge();

    /// <summary>A LiteLLM key as mama makes them; "sk-***" is the redaction.</summary>
    [GeneratedRegex(@"sk-[A-Za-z0-9_\-]{6,}")]
    private static partial Regex Key();
}

public sealed class QuietLogTestsOnSqlite(ObservedSqliteApp app) : QuietLogTests(app), IClassFixture<ObservedSqliteApp>;

public sealed class QuietLogTestsOnPostgres(ObservedPostgresApp app) : QuietLogTests(app), IClassFixture<ObservedPostgresApp>;
