using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Mama.ApiClients;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Observability;

public abstract class TraceExportTests(ObservedApp app)
{
    [Fact]
    public async Task WithAnOtlpEndpointSetRequestsAreTracedWithTheirLiteLlmCallsAndDatabaseCommands()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var host = app.StartHost(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseUrl.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        });
        using var admin = host.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(admin, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        var id = UserTestData.NewId();

        var create = Traced(HttpMethod.Post, "/api/v1/users", new { users = new[] { UserTestData.Row(id) } }, out var createTrace);
        Assert.Equal(HttpStatusCode.Created, (await admin.SendAsync(create)).StatusCode);
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "c-" + Guid.NewGuid().ToString("N")[..8], service = "billing", scope = "all" }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        var lookup = Traced(HttpMethod.Post, "/api/v1/keys/lookup", new { user_ids = new[] { id } }, out var lookupTrace);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(lookup)).StatusCode);

        await MamaApp.EventuallyAsync(() => Task.FromResult(
            collector.Spans.Any(s => s.TraceId == createTrace && s.Scope == "Microsoft.AspNetCore" && s.Name.StartsWith("POST /api/v1/users", StringComparison.Ordinal))
            && collector.Spans.Any(s => s.TraceId == createTrace && s.Mentions("/key/generate"))
            && collector.Spans.Any(s => s.TraceId == createTrace && s.Scope.Contains("EntityFrameworkCore", StringComparison.Ordinal))
            && collector.Spans.Any(s => s.TraceId == lookupTrace && s.Name == "POST /api/v1/keys/lookup")),
            "the collector receives the server, LiteLLM and database spans");

        var spans = collector.Spans.Where(s => s.TraceId == createTrace || s.TraceId == lookupTrace).ToList();
        Assert.Contains(spans, s => s.TraceId == createTrace && s.Scope == "System.Net.Http" && s.Mentions("/key/generate"));
        Assert.All(spans, s => Assert.False(s.Mentions(MamaApp.MasterKey) || s.Mentions(created.Token), $"span {s.Name} holds a secret"));
    }

    /// <summary>A request carrying a trace id of the test's own, so its spans can be told from those of other tests' hosts.</summary>
    private static HttpRequestMessage Traced(HttpMethod method, string url, object body, out string traceId)
    {
        traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var request = new HttpRequestMessage(method, url) { Content = JsonContent.Create(body) };
        request.Headers.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01");
        return request;
    }
}

public sealed class TraceExportTestsOnSqlite(ObservedSqliteApp app) : TraceExportTests(app), IClassFixture<ObservedSqliteApp>;

public sealed class TraceExportTestsOnPostgres(ObservedPostgresApp app) : TraceExportTests(app), IClassFixture<ObservedPostgresApp>;
