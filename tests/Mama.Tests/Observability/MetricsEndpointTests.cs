using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Observability;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Observability;

public abstract partial class MetricsEndpointTests(ObservedApp app)
{
    [Fact]
    public async Task MetricsAnswer401WithoutTheTokenWithAWrongOneOrWithAnAdminSessionAnd200WithIt()
    {
        using var anonymous = app.CreateClient();
        var none = await anonymous.GetAsync("/metrics");
        await none.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);

        using var wrong = app.CreateClient();
        wrong.DefaultRequestHeaders.Authorization = new("Bearer", ObservedApp.MetricsToken + "x");
        await (await wrong.GetAsync("/metrics")).AssertProblemAsync(HttpStatusCode.Unauthorized);

        using var admin = await app.SuperAdminAsync();
        await (await admin.GetAsync("/metrics")).AssertProblemAsync(HttpStatusCode.Unauthorized);

        using var scraper = app.CreateClient();
        scraper.DefaultRequestHeaders.Authorization = new("Bearer", ObservedApp.MetricsToken);
        var scraped = await scraper.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Equal("text/plain", scraped.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AScrapeAfterALookupShowsRequestLookupAndAuditMetricsWithoutUserIdsOrSecrets()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(2, services: ["billing"]);
        using var client = await NewClientAsync(admin, "all");
        // Scrapes are never cached, so the difference between two is exactly this test's lookup (tests of a class run one at a time).
        var start = await app.ScrapeAsync();
        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids.Append(UserTestData.NewId("ghost")) })).ReadAsync<LookupResponse>();
        Assert.Equal(2, found.Users.Count);

        // ASP.NET Core records a request's duration as the request ends, after the client has its answer: scrape until
        // the lookup's series are there.
        var text = "";
        await MamaApp.EventuallyAsync(async () =>
        {
            text = await app.ScrapeAsync();
            return text.Contains("http_route=\"/api/v1/keys/lookup\"", StringComparison.Ordinal)
                && Value(text, "mama_lookup_ids_requested_total") > Value(start, "mama_lookup_ids_requested_total");
        }, "the lookup's metrics are scraped");

        Assert.Equal(3, Value(text, "mama_lookup_ids_requested_total") - Value(start, "mama_lookup_ids_requested_total"));
        Assert.Equal(2, Value(text, "mama_lookup_ids_found_total") - Value(start, "mama_lookup_ids_found_total"));
        Assert.True(Value(text, "mama_audit_commit_duration_seconds_count") > Value(start, "mama_audit_commit_duration_seconds_count"), "the lookup's audit event was committed");
        Assert.Contains("http_server_request_duration_seconds_count{", text);
        Assert.Matches("http_server_request_duration_seconds_count\\{[^}]*http_route=\"/api/v1/keys/lookup\"", text);
        Assert.True(Value(text, "mama_audit_batch_size_count") >= 1);
        Assert.Contains("mama_audit_queue_depth", text);
        Assert.Contains("mama_sync_users{", text);
        Assert.Matches("mama_litellm_request_duration_seconds_count\\{[^}]*mama_litellm_endpoint=\"key/generate\"", text);
        Assert.All(ids, id => Assert.DoesNotContain(id, text));
        Assert.All(found.Users, u => Assert.DoesNotContain(u.Key, text));
        Assert.DoesNotContain(ObservedApp.MetricsToken, text);
        Assert.DoesNotContain(MamaApp.MasterKey, text);
    }

    [Fact]
    public async Task AKeyLookupCountsTheIdsAskedFoundAndDenied()
    {
        using var admin = await app.SuperAdminAsync();
        var billing = await admin.CreateUsersAsync(2, services: ["billing"]);
        var search = await admin.CreateUsersAsync(1, services: ["search"]);
        using var client = await NewClientAsync(admin, "service");
        using var recorded = new MetricsRecorder(app.Service<MamaMetrics>().Meter);

        var found = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = billing.Concat(search).Append(UserTestData.NewId("ghost")) })).ReadAsync<LookupResponse>();

        Assert.Equal((2, 1), (found.Users.Count, found.Denied.Count));
        Assert.Equal((4L, 2L, 1L), (recorded["mama.lookup.ids.requested"], recorded["mama.lookup.ids.found"], recorded["mama.lookup.ids.denied"]));
        Assert.True(recorded["mama.audit.batch.size"] >= 1, "the lookup's audit event went through the group commit");
    }

    [Fact]
    public async Task ScrapesAreNeverAudited()
    {
        using var admin = await app.SuperAdminAsync();
        long before;
        await using (var db = app.NewDbContext()) before = await db.AuditEvents.MaxAsync(e => (long?)e.Id) ?? 0;
        using var anonymous = app.CreateClient();
        await (await anonymous.GetAsync("/metrics")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await app.ScrapeAsync();

        // A request the log does record, after the scrapes: a read's event is written before its answer, so once this
        // one is there, anything the scrapes had written would be there before it.
        (await admin.GetAsync($"/api/v1/users?search={UserTestData.NewId("marker")}")).EnsureSuccessStatusCode();

        await using var after = app.NewDbContext();
        var written = await after.AuditEvents.Where(e => e.Id > before && e.Actor != Actor.System.Name).Select(e => e.Action).ToListAsync();
        Assert.Equal(["user.list"], written);
    }

    /// <summary>The sum of every series of the metric (all label sets).</summary>
    private static double Value(string text, string metric) =>
        Series().Matches(text).Where(m => m.Groups["name"].Value == metric).Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{[^}]*\})? (?<value>[0-9.eE+-]+)", RegexOptions.Multiline)]
    private static partial Regex Series();

    private async Task<HttpClient> NewClientAsync(HttpClient admin, string scope)
    {
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "client-" + Guid.NewGuid().ToString("N")[..8], service = "billing", scope }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }
}

public sealed class MetricsEndpointTestsOnSqlite(ObservedSqliteApp app) : MetricsEndpointTests(app), IClassFixture<ObservedSqliteApp>;

public sealed class MetricsEndpointTestsOnPostgres(ObservedPostgresApp app) : MetricsEndpointTests(app), IClassFixture<ObservedPostgresApp>;

public sealed class MetricsOffTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task MetricsAre404WhenPrometheusIsOff()
    {
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new("Bearer", ObservedApp.MetricsToken);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/metrics")).StatusCode);
    }
}
