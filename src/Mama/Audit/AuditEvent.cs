namespace Mama.Audit;

public sealed class AuditEvent
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    /// <summary>Target user IDs as " id1 id2 ", so a filter is a substring match on " id ". IDs never hold spaces.</summary>
    public string UserIds { get; set; } = " ";
    /// <summary>JSON object: what was asked and what changed. Never a key, token or password.</summary>
    public string Detail { get; set; } = "{}";
    public AuditResult Result { get; set; }
    public int StatusCode { get; set; }
    public string? Reason { get; set; }
    public string? Ip { get; set; }
    public string? TraceId { get; set; }
}

public enum AuditResult
{
    Success,
    Failure,
    Denied,
}
