using Mama.Audit;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.ApiClients;

public static class ApiClientsApi
{
    public static RouteGroupBuilder MapApiClientsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/api-clients").WithTags("API clients").RequireAuthorization(Policies.SuperAdmin);
        api.MapGet("/", ListAsync).WithSummary("List API clients (never their tokens)");
        api.MapPost("/", CreateAsync).WithSummary("Create an API client; the token is in this answer only");
        api.MapDelete("/{name}", RevokeAsync).WithSummary("Revoke an API client; its token stops working");
        return api;
    }

    private static async Task<Ok<ApiClientListResponse>> ListAsync(ApiClientService clients, CancellationToken ct) =>
        TypedResults.Ok(await clients.ListAsync(ct));

    private static async Task<Created<CreatedApiClientResponse>> CreateAsync(CreateApiClientRequest request, HttpContext http, ApiClientService clients, CancellationToken ct)
    {
        var created = await clients.CreateAsync(request, Actor.From(http), ct);
        return TypedResults.Created($"/api/v1/api-clients/{Uri.EscapeDataString(created.Name)}", created);
    }

    private static async Task<NoContent> RevokeAsync(string name, HttpContext http, ApiClientService clients, CancellationToken ct)
    {
        await clients.RevokeAsync(name, Actor.From(http), ct);
        return TypedResults.NoContent();
    }
}
