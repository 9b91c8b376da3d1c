namespace Mama.Rotation;

/// <summary>One rotation request: the users it covers are its <see cref="KeyRotationItem"/> rows.</summary>
public sealed class KeyRotation
{
    /// <summary>"rot_" and 26 URL-safe characters; what <c>GET /api/v1/rotations/{id}</c> names.</summary>
    public required string Id { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
    /// <summary>How long each replaced key keeps working after its successor is live; zero revokes it at once.</summary>
    public TimeSpan Grace { get; set; }
    /// <summary><c>request</c> (an admin or API client) or <c>max_key_age</c> (automatic).</summary>
    public string Trigger { get; set; } = RotationTriggers.Request;
    public int Total { get; set; }
}

public static class RotationTriggers
{
    public const string Request = "request";
    public const string MaxKeyAge = "max_key_age";
}

/// <summary>One user in a rotation, with how far it has got.</summary>
public sealed class KeyRotationItem
{
    public required string RotationId { get; set; }
    public long UserDbId { get; set; }
    public required string UserId { get; set; }
    public string State { get; set; } = RotationItemStates.Pending;
    /// <summary>Why the step failed last, in words, never with a key.</summary>
    public string? Error { get; set; }
    public DateTimeOffset? LiveAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

public static class RotationItemStates
{
    /// <summary>The new key is stored, not yet live on the proxy.</summary>
    public const string Pending = "pending";
    /// <summary>The new key is live and current; the replaced key works until the grace window ends.</summary>
    public const string Live = "live";
    /// <summary>The replaced key is deleted from the proxy and verified gone: the rotation of this user is complete.</summary>
    public const string Revoked = "revoked";
    /// <summary>The proxy refused a step for good (the reason is in <see cref="KeyRotationItem.Error"/>); the sync keeps retrying with backoff.</summary>
    public const string Failed = "failed";
    /// <summary>The user was deleted before its new key went live.</summary>
    public const string Skipped = "skipped";
}

public sealed class RotationOptions
{
    /// <summary>The grace window when a request names none (<c>Mama:Rotation:DefaultGrace</c>).</summary>
    public TimeSpan DefaultGrace { get; set; } = TimeSpan.FromHours(24);
    /// <summary>The longest grace window a request may ask for.</summary>
    public TimeSpan MaxGrace { get; set; } = TimeSpan.FromDays(30);
    /// <summary>Keys older than this (since they went live) are rotated automatically with the default grace; off when null.</summary>
    public TimeSpan? MaxKeyAge { get; set; }
    /// <summary>How long before <c>expires_at</c> the <c>key.expiring</c> webhook goes out.</summary>
    public TimeSpan ExpiryWarning { get; set; } = TimeSpan.FromDays(7);
    /// <summary>How often <see cref="KeyExpiry"/> looks for keys that ended, keys about to end, and keys past <see cref="MaxKeyAge"/>.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ExpiryCheckInterval { get; set; } = TimeSpan.FromSeconds(30);
}
