using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.LiteLlm;

public static class StatusApi
{
    public static RouteGroupBuilder MapLiteLlmStatusApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/litellm").WithTags("LiteLLM").RequireAuthorization(Policies.Admin);
        api.MapGet("/status", GetAsync).WithSummary("The proxy as mama sees it: reachability, version, custom keys, last successful call, sync backlog and warnings");
        return api;
    }

    private static async Task<Ok<ProxyStatusResponse>> GetAsync(ProxyStatus status, CancellationToken ct) =>
        TypedResults.Ok(await status.GetAsync(ct));
}
