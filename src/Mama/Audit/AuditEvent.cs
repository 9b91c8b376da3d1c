namespace Mama.Audit;

public sealed class AuditEvent
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    /// <summary>Target user IDs as " id1 id2 " (see <see cref="JoinUserIds"/>), so a filter is a substring match on <see cref="UserIdNeedle"/>.</summary>
    public string UserIds { get; set; } = " ";
    /// <summary>JSON object: what was asked and what changed. Never a key, token or password.</summary>
    public string Detail { get; set; } = "{}";
    public AuditResult Result { get; set; }
    public int StatusCode { get; set; }
    public string? Reason { get; set; }
    public string? Ip { get; set; }
    public string? TraceId { get; set; }
    /// <summary>The event's place in the audit chain (1, 2, …, in commit order); null only for an event written outside it.</summary>
    public long? Seq { get; set; }
    /// <summary>SHA-256 of the previous event's hash together with this event's content (see <see cref="AuditChain"/>).</summary>
    public string? Hash { get; set; }

    /// <summary>
    /// A space separates the IDs and '/' stands for a space inside one: no user ID holds '/', and events written
    /// before IDs could hold spaces read the same.
    /// </summary>
    public static string JoinUserIds(IReadOnlyCollection<string>? ids) =>
        ids is { Count: > 0 } ? " " + string.Join(' ', ids.Select(id => id.Replace(' ', '/'))) + " " : " ";

    public static IReadOnlyList<string> SplitUserIds(string stored) =>
        stored.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(id => id.Replace('/', ' ')).ToList();

    /// <summary>What <see cref="UserIds"/> holds when the event names <paramref name="userId"/>.</summary>
    public static string UserIdNeedle(string userId) => " " + userId.Replace(' ', '/') + " ";
}

public enum AuditResult
{
    Success,
    Failure,
    Denied,
}
