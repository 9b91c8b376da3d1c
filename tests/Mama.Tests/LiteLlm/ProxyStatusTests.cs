using System.Net;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Mama.Tests.Users;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.LiteLlm;

public abstract class ProxyStatusTests(MamaApp app)
{
    [Fact]
    public async Task TheStatusTellsReachabilityVersionCustomKeysAndTheLastSuccessfulCall()
    {
        using var admin = await app.SuperAdminAsync();
        var before = DateTimeOffset.UtcNow;
        await admin.CreateUsersAsync(1);

        var status = await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>();

        Assert.True(status.Reachable);
        Assert.Equal(Mama.LiteLlmEmulator.EmulatorControl.DefaultVersion, status.Version);
        Assert.Equal("connected", status.Database);
        Assert.Equal("accepted", status.CustomKeys); // the create just now generated a key with mama's value
        Assert.NotNull(status.LastSuccessAt);
        Assert.True(status.LastSuccessAt >= before.AddSeconds(-1), $"{status.LastSuccessAt} < {before}");
        Assert.Empty(status.Warnings);
    }

    [Fact]
    public async Task TheStatusIsForAdminsOnly()
    {
        using var anonymous = app.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/litellm/status")).StatusCode);
    }

    [Fact]
    public async Task WithTheProxyDownTheStatusSaysUnreachableAndKeepsTheLastSuccessfulCall()
    {
        using var admin = await app.SuperAdminAsync();
        await admin.CreateUsersAsync(1);
        app.LiteLlm.SetDown(true);
        try
        {
            var status = await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>();

            Assert.False(status.Reachable);
            Assert.Null(status.Version);
            Assert.NotNull(status.LastSuccessAt);
        }
        finally
        {
            app.LiteLlm.SetDown(false);
        }
    }

    [Fact]
    public async Task TheBacklogCountsPendingErrorAndConflictUsersFromTheDatabase()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(4);
        var baseline = (await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>()).Backlog;
        var later = DateTimeOffset.UtcNow.AddHours(1); // out of the reconciler's reach during the test
        await using var db = app.NewDbContext();
        await db.KeyUsers.Where(u => u.UserId == ids[0]).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncState, SyncState.Pending).SetProperty(u => u.NextSyncAt, later), TestContext.Current.CancellationToken);
        await db.KeyUsers.Where(u => u.UserId == ids[1] || u.UserId == ids[2]).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncState, SyncState.Error).SetProperty(u => u.NextSyncAt, later), TestContext.Current.CancellationToken);
        // SyncState.Conflict comes with issue 10's existing-key work; the status counts it by its stored name already.
        await db.Database.ExecuteSqlRawAsync("""UPDATE "users" SET "SyncState" = 'Conflict' WHERE "UserId" = {0}""", [ids[3]], TestContext.Current.CancellationToken);
        try
        {
            var backlog = (await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>()).Backlog;

            Assert.Equal((1, 2, 1), (backlog.Pending - baseline.Pending, backlog.Error - baseline.Error, backlog.Conflict - baseline.Conflict));
        }
        finally
        {
            await db.KeyUsers.Where(u => ids.Contains(u.UserId)).ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncState, SyncState.Synced).SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null), TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task TheLastDriftCheckIsReadFromItsJobRow()
    {
        await using var host = app.StartHost(new Dictionary<string, string?> { ["LiteLlm:DriftCheckInterval"] = "01:00:00" });
        using var admin = host.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(admin, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        var before = DateTimeOffset.UtcNow;

        await host.Services.GetRequiredService<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, TestContext.Current.CancellationToken);

        SyncBacklog? backlog = null;
        await MamaApp.EventuallyAsync(async () =>
        {
            backlog = (await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>()).Backlog;
            return backlog.LastDriftCheckAt >= before.AddSeconds(-1);
        }, "the drift check ran and its time is shown");
        Assert.Equal(backlog!.LastDriftCheckAt + TimeSpan.FromHours(1), backlog.NextDriftCheckAt);
    }

    [Theory]
    [InlineData("1.82.7")]
    [InlineData("1.82.8")]
    public async Task ACompromisedVersionIsAWarningInTheStatusAndInTheReadinessDetailWhileStayingHealthy(string version)
    {
        using var admin = await app.SuperAdminAsync();
        app.LiteLlm.Version = version;
        try
        {
            var status = await (await admin.GetAsync("/api/v1/litellm/status")).ReadAsync<ProxyStatusResponse>();
            var ready = await app.CreateClient().GetAsync("/health/ready");

            Assert.Equal(version, status.Version);
            var warning = Assert.Single(status.Warnings);
            Assert.Equal("compromised_version", warning.Code);
            Assert.Contains(version, warning.Message);
            Assert.Contains("re-key", warning.Message);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var body = await ready.Content.ReadAsStringAsync();
            Assert.StartsWith("Healthy\n", body);
            Assert.Contains($"litellm-version: The proxy runs LiteLLM {version}", body);
        }
        finally
        {
            app.LiteLlm.Version = Mama.LiteLlmEmulator.EmulatorControl.DefaultVersion;
        }
    }

    [Theory]
    [InlineData("1.82.7", true)]
    [InlineData("v1.82.8", true)]
    [InlineData("1.82.7.post1", true)]
    [InlineData("1.82.6", false)]
    [InlineData("1.82.70", false)]
    [InlineData("1.104.0", false)]
    [InlineData("", false)]
    public void OnlyReleases1827And1828AreCompromised(string version, bool compromised) =>
        Assert.Equal(compromised, ProxyStatus.IsCompromised(version));
}

public sealed class ProxyStatusTestsOnSqlite(SqliteApp app) : ProxyStatusTests(app), IClassFixture<SqliteApp>;

public sealed class ProxyStatusTestsOnPostgres(PostgresApp app) : ProxyStatusTests(app), IClassFixture<PostgresApp>;
