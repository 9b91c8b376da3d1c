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
        api.MapGet("/verify", VerifyAsync).WithSummary("Walk the audit chain and report OK or the first broken event");
        api.MapGet("/checkpoint", LatestCheckpointAsync).WithSummary("The latest signed checkpoint of the audit chain, to keep elsewhere");
        api.MapPost("/checkpoint", SignCheckpointAsync).RequireAuthorization(Policies.SuperAdmin).WithSummary("Sign the chain's head now");
        return api;
    }

    private static async Task<Ok<AuditVerifyResult>> VerifyAsync(HttpContext http, AuditVerification verification, CancellationToken ct) =>
        TypedResults.Ok(await verification.RunAsync(Actor.From(http), progress: null, ct));

    private static async Task<Ok<AuditCheckpointView>> LatestCheckpointAsync(AuditCheckpoints checkpoints, CancellationToken ct) =>
        TypedResults.Ok(AuditCheckpointView.Of(await checkpoints.LatestAsync(ct) ?? throw NoCheckpoint()));

    private static async Task<Ok<AuditCheckpointView>> SignCheckpointAsync(AuditCheckpoints checkpoints, CancellationToken ct) =>
        TypedResults.Ok(AuditCheckpointView.Of(await checkpoints.SignHeadAsync(now: true, ct) ?? throw NoCheckpoint()));

    private static ProblemException NoCheckpoint() =>
        ProblemException.NotFound("No checkpoint has been signed yet: the audit log holds no events.").WithCode("no_checkpoint");

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

/// <summary>A checkpoint as exported: everything needed to check the chain against it later (with the signing key).</summary>
public sealed record AuditCheckpointView(long Seq, string Hash, DateTimeOffset At, string KeyId, string Signature, string PrevSignature)
{
    public static AuditCheckpointView Of(AuditCheckpoint c) => new(c.Seq, c.Hash, c.At, c.KeyId, c.Signature, c.PrevSignature);

    public AuditCheckpoint ToCheckpoint() => new() { Seq = Seq, Hash = Hash, At = At, KeyId = KeyId, Signature = Signature, PrevSignature = PrevSignature ?? "" };
}
