using System.Net;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

/// <summary>The audit records the status the client saw, also when requests race or the audit itself fails.</summary>
public abstract class ApiClientAuditTests(MamaApp app)
{
    /// <summary>SQL that makes inserting an <c>api_client.create</c> audit event fail, and SQL that undoes it.</summary>
    protected abstract (string Break, string Repair) BrokenCreateAudit { get; }

    /// <summary>SQL that makes writing any API client's last use fail, and SQL that undoes it.</summary>
    protected abstract (string Break, string Repair) BrokenLastUsed { get; }

    [Fact]
    public async Task TenConcurrentRevokesOfOneClientSucceedOnceAndTheOthersAre404()
    {
        using var admin = await app.SuperAdminAsync();
        var name = NewName();
        await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => admin.DeleteAsync($"/api/v1/api-clients/{name}")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.NoContent);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.NoContent), r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "api_client.revoke" && e.Detail.Contains("\"" + name + "\"")).ToListAsync();
        Assert.Single(events, e => e.Result == AuditResult.Success && e.StatusCode == 204);
        Assert.Equal(9, events.Count(e => e.Result == AuditResult.Failure && e.StatusCode == 404));
    }

    [Fact]
    public async Task ACreateWhoseAuditEventCannotBeWrittenIs503AndCreatesNothing()
    {
        using var admin = await app.SuperAdminAsync();
        var name = NewName();
        var (breakSql, repairSql) = BrokenCreateAudit;
        await using (var db = app.NewDbContext()) await db.Database.ExecuteSqlRawAsync(breakSql);
        try
        {
            await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing" })).AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            await using var db = app.NewDbContext();
            await db.Database.ExecuteSqlRawAsync(repairSql);
        }

        await using (var db = app.NewDbContext()) Assert.False(await db.ApiClients.AnyAsync(c => c.Name == name));
        await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
    }

    [Fact]
    public async Task AServiceScopedDenialOfOneKeyIsAuditedWithThe403TheClientGot()
    {
        using var admin = await app.SuperAdminAsync();
        var outside = (await admin.CreateUsersAsync(1, services: ["search"]))[0];
        var name = NewName();
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "service" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);

        await (await client.GetAsync($"/api/v1/keys/{outside}")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/api/v1/keys/nobody-at-all")).AssertProblemAsync(HttpStatusCode.NotFound);

        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Actor == "api:" + name && e.Action == "key.lookup").OrderBy(e => e.Id).ToListAsync();
        Assert.Equal([(AuditResult.Denied, 403), (AuditResult.Failure, 404)], events.Select(e => (e.Result, e.StatusCode)));
    }

    [Fact]
    public async Task ALookupRecordsItsClientsLastUseBesideTheAnswerAndIsAnsweredWhenThatWriteFails()
    {
        using var admin = await app.SuperAdminAsync();
        var user = (await admin.CreateUsersAsync(1))[0];
        var (breakSql, repairSql) = BrokenLastUsed;
        var broken = await NewClientAsync(admin);
        await using (var db = app.NewDbContext()) await db.Database.ExecuteSqlRawAsync(breakSql);
        try
        {
            var response = await broken.Client.GetAsync($"/api/v1/keys/{user}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            await using var db = app.NewDbContext();
            await db.Database.ExecuteSqlRawAsync(repairSql);
        }
        await using (var db = app.NewDbContext())
            Assert.True(await db.AuditEvents.AnyAsync(e => e.Actor == "api:" + broken.Name && e.Action == "key.lookup" && e.Result == AuditResult.Success));

        var working = await NewClientAsync(admin);
        Assert.Equal(HttpStatusCode.OK, (await working.Client.GetAsync($"/api/v1/keys/{user}")).StatusCode);
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.ApiClients.Where(c => c.Name == working.Name).Select(c => c.LastUsedAt).SingleAsync() is not null;
        }, "the last use of a client that looked a key up is recorded");
    }

    private async Task<(string Name, HttpClient Client)> NewClientAsync(HttpClient admin)
    {
        var name = NewName();
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return (name, client);
    }

    private static string NewName() => "client-" + Guid.NewGuid().ToString("N")[..8];
}

public sealed class ApiClientAuditTestsOnSqlite(SqliteApp app) : ApiClientAuditTests(app), IClassFixture<SqliteApp>
{
    protected override (string Break, string Repair) BrokenCreateAudit => (
        """CREATE TRIGGER audit_broken BEFORE INSERT ON "audit_events" WHEN NEW."Action" = 'api_client.create' BEGIN SELECT RAISE(ABORT, 'audit broken'); END""",
        "DROP TRIGGER audit_broken");

    protected override (string Break, string Repair) BrokenLastUsed => (
        """CREATE TRIGGER last_used_broken BEFORE UPDATE OF "LastUsedAt" ON "api_clients" BEGIN SELECT RAISE(ABORT, 'last use broken'); END""",
        "DROP TRIGGER last_used_broken");
}

public sealed class ApiClientAuditTestsOnPostgres(PostgresApp app) : ApiClientAuditTests(app), IClassFixture<PostgresApp>
{
    protected override (string Break, string Repair) BrokenCreateAudit => (
        """
        CREATE FUNCTION audit_broken() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW."Action" = 'api_client.create' THEN RAISE EXCEPTION 'audit broken'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER audit_broken BEFORE INSERT ON "audit_events" FOR EACH ROW EXECUTE FUNCTION audit_broken();
        """,
        """DROP TRIGGER audit_broken ON "audit_events"; DROP FUNCTION audit_broken();""");

    protected override (string Break, string Repair) BrokenLastUsed => (
        """
        CREATE FUNCTION last_used_broken() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'last use broken'; END $$;
        CREATE TRIGGER last_used_broken BEFORE UPDATE OF "LastUsedAt" ON "api_clients" FOR EACH ROW EXECUTE FUNCTION last_used_broken();
        """,
        """DROP TRIGGER last_used_broken ON "api_clients"; DROP FUNCTION last_used_broken();""");
}
