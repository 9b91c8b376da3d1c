namespace Mama.Sessions;

/// <summary>
/// One browser's sign-in to the admin UI. The auth cookie carries <see cref="Id"/>; the row, not the cookie,
/// decides whether the session still works, so a sign-out or a password change ends it everywhere.
/// </summary>
public sealed class UiSessionRecord
{
    public string Id { get; set; } = "";
    public string AccountId { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset LastSeenAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public string? EndReason { get; set; }
}

/// <summary>Why a session ended: stored in the row and passed to the sign-in page, which says it in words.</summary>
public static class SessionEndReasons
{
    public const string SignedOut = "signed-out";
    public const string PasswordChanged = "password-changed";
    public const string PasswordReset = "password-reset";
    public const string AccountDeleted = "account-deleted";
    public const string Idle = "idle";
    public const string Expired = "expired";
    /// <summary>No record (a cookie from before sessions were recorded, or a deleted row).</summary>
    public const string Ended = "ended";

    public static readonly string[] All = [SignedOut, PasswordChanged, PasswordReset, AccountDeleted, Idle, Expired, Ended];
}
