using System.Text.Json;
using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;

namespace Mama.ApiClients;

public sealed record CompatKey(string UserId, string UserKey);
public sealed record CompatSingleKey(string Key);

/// <summary>
/// The earlier Python mama's key endpoints, answering as it answered so that systems integrated with it need no change:
/// any list of IDs (none, repeated, invalid or unknown ones are left out), FastAPI's 422 and <c>{"detail": …}</c> errors.
/// </summary>
public static class LegacyKeysApi
{
    /// <summary>The original's texts (msaltnet/mama app/main.py).</summary>
    public const string InvalidKey = "Invalid or missing API key.";
    public const string UserNotFound = "사용자를 찾을 수 없습니다.";

    /// <summary>The problem extension that carries a 422's entries, written as the <c>detail</c> list.</summary>
    public const string DetailExtension = "legacy_detail";

    public static void MapLegacyKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/key").WithTags("Key lookup (Python mama)").RequireAuthorization(ApiClientAuthentication.Policy);
        // No Accepts metadata: routing would answer 415 to a body that FastAPI answered with a 422.
        api.MapPost("/info", InfoAsync)
            .WithSummary("{\"user_ids\": [...]} → [{user_id, user_key}]; unknown, invalid and repeated IDs are left out (up to 10,000 IDs)");
        api.MapGet("/{userId}", GetOneAsync).WithSummary("{key} of one user; 404 {detail} when there is none");
    }

    public static bool IsLegacyPath(PathString path) => path.StartsWithSegments("/key");

    private static async Task<Ok<List<CompatKey>>> InfoAsync(HttpContext http, KeyLookup keys, CancellationToken ct)
    {
        var caller = Caller(http);
        var actor = Actor.From(http);
        IReadOnlyList<string?> ids;
        try
        {
            // Read by hand, not bound: FastAPI reads a body without Content-Type as JSON, and answers 422 where binding answers 400 or 415.
            ids = LegacyKeyRequest.Parse(await ReadBodyAsync(http.Request, ct), http.Request.ContentType);
        }
        catch (ProblemException problem)
        {
            await keys.AuditRefusedAsync(actor, problem, ct);
            throw;
        }
        var found = await keys.LegacyLookupAsync(caller, ids, actor, ct);
        return TypedResults.Ok(found.Select(u => new CompatKey(u.UserId, u.Key)).ToList());
    }

    private static async Task<Ok<CompatSingleKey>> GetOneAsync(string userId, HttpContext http, KeyLookup keys, CancellationToken ct) =>
        TypedResults.Ok(new CompatSingleKey((await keys.LegacyGetOneAsync(Caller(http), userId, Actor.From(http), ct)).Key));

    private static ApiCaller Caller(HttpContext http) => http.Features.Get<ApiCaller>() ?? throw ProblemException.Unauthorized(InvalidKey);

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        using var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            // Kestrel stops a longer body itself; this covers hosts that do not (the test server).
            if (body.Length + read > RequestLimits.MaxBodyBytes) throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            body.Write(chunk, 0, read);
        }
        return body.ToArray();
    }
}

/// <summary>
/// Every error on the legacy paths as FastAPI wrote it: <c>{"detail": "…"}</c>, or <c>{"detail": [...]}</c> for a 422,
/// as <c>application/json</c>. Registered before the problem+json writer, so <c>/api/v1</c> keeps problem+json.
/// </summary>
public sealed class LegacyErrorWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => LegacyKeysApi.IsLegacyPath(context.HttpContext.Request.Path);

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var response = context.HttpContext.Response;
        response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(response.Body);
        json.WriteStartObject();
        if (context.ProblemDetails.Extensions.TryGetValue(LegacyKeysApi.DetailExtension, out var entries) && entries is IEnumerable<LegacyValidationError> errors)
        {
            json.WriteStartArray("detail");
            foreach (var error in errors) error.WriteTo(json);
            json.WriteEndArray();
        }
        else json.WriteString("detail", Detail(context, response.StatusCode));
        json.WriteEndObject();
        await json.FlushAsync(context.HttpContext.RequestAborted);
    }

    private static string Detail(ProblemDetailsContext context, int status) =>
        // The original had one answer for a missing, wrong or revoked key; routing's bare statuses read as Starlette's.
        status == StatusCodes.Status401Unauthorized ? LegacyKeysApi.InvalidKey
        : context.Exception is null ? ReasonPhrases.GetReasonPhrase(status)
        : context.ProblemDetails.Detail ?? ReasonPhrases.GetReasonPhrase(status);
}
