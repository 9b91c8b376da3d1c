using Mama.Audit;
using Mama.Http;

namespace Mama.ApiClients;

public static class KeysApi
{
    public static void MapKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/keys").WithTags("Key lookup").RequireAuthorization(ApiClientAuthentication.Policy);
        api.MapPost("/lookup", LookupAsync).WithSummary("Keys and info of up to 1,000 users; each ID lands in users, not_found, denied or failed");
        api.MapGet("/{userId}", GetOneAsync).WithSummary("One user's key and info");

        // The earlier Python mama's endpoints, so that systems already integrated keep working.
        app.MapLegacyKeysApi();
    }

    private static async Task<LookupAnswer<LookupResponse>> LookupAsync(LookupRequest request, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        new(await keys.LookupAsync(Caller(http), request.UserIds, Actor.From(http), ct));

    private static async Task<LookupAnswer<LookedUpUser>> GetOneAsync(string userId, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        new(await keys.GetOneAsync(Caller(http), userId, Actor.From(http), ct));

    private static ApiCaller Caller(HttpContext http) => http.Features.Get<ApiCaller>() ?? throw ProblemException.Unauthorized("A valid API client token is required.");
}
