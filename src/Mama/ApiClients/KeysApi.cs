using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.ApiClients;

public sealed record CompatLookupRequest(IReadOnlyList<string>? UserIds);
public sealed record CompatKey(string UserId, string UserKey);
public sealed record CompatSingleKey(string Key);

public static class KeysApi
{
    public static void MapKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/keys").WithTags("Key lookup").RequireAuthorization(ApiClientAuthentication.Policy);
        api.MapPost("/lookup", LookupAsync).WithSummary("Keys and info of up to 1,000 users; each ID lands in users, not_found, denied or failed");
        api.MapGet("/{userId}", GetOneAsync).WithSummary("One user's key and info");

        // The earlier Python mama's endpoints, so that systems already integrated keep working.
        var compat = app.MapGroup("/key").WithTags("Key lookup (compatibility)").RequireAuthorization(ApiClientAuthentication.Policy);
        compat.MapPost("/info", CompatLookupAsync).WithSummary("Compatibility: [{user_id, user_key}] for the given user IDs");
        compat.MapGet("/{userId}", CompatGetOneAsync).WithSummary("Compatibility: {key} of one user");
    }

    private static async Task<Ok<LookupResponse>> LookupAsync(LookupRequest request, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        TypedResults.Ok(await keys.LookupAsync(Caller(http), request.UserIds, Actor.From(http), ct));

    private static async Task<Ok<LookedUpUser>> GetOneAsync(string userId, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        TypedResults.Ok(await keys.GetOneAsync(Caller(http), userId, Actor.From(http), ct));

    private static async Task<Ok<List<CompatKey>>> CompatLookupAsync(CompatLookupRequest request, HttpContext http, KeyLookup keys, CancellationToken ct)
    {
        var found = await keys.LookupAsync(Caller(http), request.UserIds, Actor.From(http), ct, legacy: true);
        return TypedResults.Ok(found.Users.Select(u => new CompatKey(u.UserId, u.Key)).ToList());
    }

    private static async Task<Ok<CompatSingleKey>> CompatGetOneAsync(string userId, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        TypedResults.Ok(new CompatSingleKey((await keys.GetOneAsync(Caller(http), userId, Actor.From(http), ct, legacy: true)).Key));

    private static ApiCaller Caller(HttpContext http) => http.Features.Get<ApiCaller>() ?? throw ProblemException.Unauthorized("A valid API client token is required.");
}
