using Mama.Audit;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.LiteLlm;

public static class AdoptApi
{
    public static RouteGroupBuilder MapAdoptApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/litellm").WithTags("LiteLLM").RequireAuthorization(Policies.SuperAdmin);
        api.MapPost("/adopt", AdoptAsync).WithSummary("List the proxy's keys no mama user owns (dry run), or adopt those whose plaintext is given (apply)");
        return api;
    }

    private static async Task<Ok<AdoptResponse>> AdoptAsync(AdoptRequest request, HttpContext http, KeyAdoption adoption, CancellationToken ct) =>
        TypedResults.Ok(await adoption.AdoptAsync(request, Actor.From(http), ct));
}
