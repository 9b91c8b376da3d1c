using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Security;

/// <summary>A class of its own: the throttle is per client address, and every in-process request shares one.</summary>
public abstract class UnauthenticatedAuditTests(MamaApp app)
{
    [Fact]
    public async Task AFloodOf401sIsAuditedAsAFewAnonymousEventsWhoseCountsAddUpAndHoldNoToken()
    {
        var path = "/api/v1/users/" + UserTestData.NewId("probe");
        const string token = "not-a-real-token-9f3b2c";
        using var client = app.CreateClient();
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < 20; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (i % 2 == 1) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
        }
        var elapsed = clock.Elapsed;

        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "auth.unauthenticated").OrderBy(e => e.Id).ToListAsync();
        Assert.InRange(events.Count, 1, (int)elapsed.TotalSeconds + 1);
        Assert.All(events, e => Assert.Equal(("anonymous", 401, Mama.Audit.AuditResult.Denied), (e.Actor, e.StatusCode, e.Result)));
        var details = events.Select(e => JsonDocument.Parse(e.Detail).RootElement).ToList();
        Assert.All(details, d => Assert.Equal((path, "bearer", "GET"), (d.GetProperty("path").GetString(), d.GetProperty("scheme").GetString(), d.GetProperty("method").GetString())));
        Assert.Equal(0, details[0].GetProperty("suppressed").GetInt32()); // the first of the flood is written
        Assert.InRange(events.Count + details.Sum(d => d.GetProperty("suppressed").GetInt32()), 1, 20);
        Assert.DoesNotContain(events, e => e.Detail.Contains(token) || (e.Reason ?? "").Contains(token));
    }
}

public sealed class UnauthenticatedAuditTestsOnSqlite(SqliteApp app) : UnauthenticatedAuditTests(app), IClassFixture<SqliteApp>;
public sealed class UnauthenticatedAuditTestsOnPostgres(PostgresApp app) : UnauthenticatedAuditTests(app), IClassFixture<PostgresApp>;
