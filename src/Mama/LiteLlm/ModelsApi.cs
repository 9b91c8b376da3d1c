using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.LiteLlm;

public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Models").RequireAuthorization(Policies.Admin);
        api.MapGet("/", ListAsync).WithSummary("Models the LiteLLM proxy serves now (cached briefly; stale when the proxy is down)");
        return api;
    }

    private static async Task<Ok<ModelListResponse>> ListAsync(ModelCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok(await catalog.GetAsync(ct));
}
