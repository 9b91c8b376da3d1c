using Mama.Http;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Mama.Audit;

public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/audit").WithTags("Audit").RequireAuthorization(Policies.Admin);
        api.MapGet("/", QueryAsync).WithSummary("Search the audit log, newest first");
        return api;
    }

    private static async Task<Ok<AuditPage>> QueryAsync([AsParameters] AuditQuery query, AuditQueries audit, CancellationToken ct) =>
        TypedResults.Ok(await audit.QueryAsync(query, ct));
}

public sealed record AuditQuery
{
    [FromQuery(Name = "actor")] public string? Actor { get; init; }
    [FromQuery(Name = "user_id")] public string? UserId { get; init; }
    [FromQuery(Name = "action")] public string? Action { get; init; }
    [FromQuery(Name = "result")] public string? Result { get; init; }
    [FromQuery(Name = "from")] public DateTimeOffset? From { get; init; }
    [FromQuery(Name = "to")] public DateTimeOffset? To { get; init; }
    [FromQuery(Name = "page")] public int? Page { get; init; }
    [FromQuery(Name = "page_size")] public int? PageSize { get; init; }
    /// <summary>Pins the result to events at or before this id, so later events don't shift the pages.</summary>
    [FromQuery(Name = "as_of_id")] public long? AsOfId { get; init; }
}

public sealed record AuditPage(IReadOnlyList<AuditItem> Items, int Total, int Page, int PageSize, long? AsOfId);

public sealed record AuditItem(
    long Id,
    DateTimeOffset At,
    string Actor,
    string Action,
    IReadOnlyList<string> UserIds,
    System.Text.Json.JsonElement Detail,
    string Result,
    int StatusCode,
    string? Reason,
    string? Ip,
    string? TraceId);
