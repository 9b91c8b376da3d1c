using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace Mama.LiteLlm;

// The catalog and readiness calls (issue 10, points 6 and 9), beside the key calls in LiteLlmClient.cs.
public sealed partial class LiteLlmClient
{
    /// <summary>
    /// The proxy's deployments from <c>/model/info</c> (the master key sees all), with their access groups; null when the
    /// proxy has no such route (404), so the caller falls back to <c>/v1/models</c>. A proxy without models answers 500
    /// "Model List not loaded": an empty catalog (CONTRACT §9.2).
    /// </summary>
    public async Task<IReadOnlyList<LiteLlmDeployment>?> ListDeploymentsAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "model/info", null, null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (response.StatusCode == HttpStatusCode.InternalServerError && (await ReadErrorAsync(response, ct)).Contains("Model List not loaded", StringComparison.OrdinalIgnoreCase)) return [];
        await EnsureSuccessAsync(response, LiteLlmCall.ReadModelInfo, ct);
        return (await response.Content.ReadFromJsonAsync<LiteLlmDeploymentList>(ct))?.Data ?? [];
    }

    /// <summary><c>/health/readiness</c> (public): the proxy's version and its database state.</summary>
    public async Task<LiteLlmReadiness> GetReadinessAsync(CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, "health/readiness", null, null, ct);
        await EnsureSuccessAsync(response, LiteLlmCall.ReportReadiness, ct);
        return await response.Content.ReadFromJsonAsync<LiteLlmReadiness>(ct) ?? new LiteLlmReadiness(null, null, null);
    }
}

public sealed record LiteLlmDeploymentList([property: JsonPropertyName("data")] IReadOnlyList<LiteLlmDeployment>? Data);

public sealed record LiteLlmDeployment(
    [property: JsonPropertyName("model_name")] string? ModelName,
    [property: JsonPropertyName("model_info")] LiteLlmDeploymentInfo? ModelInfo);

public sealed record LiteLlmDeploymentInfo([property: JsonPropertyName("access_groups")] IReadOnlyList<string>? AccessGroups);

public sealed record LiteLlmReadiness(
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("db")] string? Db,
    [property: JsonPropertyName("litellm_version")] string? LitellmVersion);
