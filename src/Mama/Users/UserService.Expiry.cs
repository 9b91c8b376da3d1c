namespace Mama.Users;

/// <summary>The key's end date (<c>expires_at</c>) as create and edit set it; <see cref="Rotation.KeyExpiry"/> blocks keys once it passes.</summary>
public sealed partial class UserService
{
    /// <summary>Null when fine: an end date is in the future when set (the past would block the key at once), and not both set and cleared.</summary>
    private FieldError? CheckExpiresAt(DateTimeOffset? expiresAt, bool clear) =>
        expiresAt is not null && clear ? new("expires_at_and_clear", "Give expires_at or clear_expires_at, not both.")
        : expiresAt <= clock.GetUtcNow() ? new("expires_at_past", "Must be in the future.")
        : null;

    /// <summary>Sets, extends or clears the user's end date as asked; the change, or null when it already was so.</summary>
    private static FieldChange? ApplyExpiry(EditUsersRequest request, User user)
    {
        var after = request.ClearExpiresAt ? null : request.ExpiresAt?.ToUniversalTime() ?? user.ExpiresAt;
        if (after == user.ExpiresAt) return null;
        var change = new FieldChange(user.ExpiresAt, after);
        user.ExpiresAt = after;
        return change;
    }

    /// <summary>An end date that has passed: the key is blocked on the proxy, and a new or no end date must unblock it there.</summary>
    private static bool Expired(object? expiresAt, DateTimeOffset now) => expiresAt is DateTimeOffset at && at <= now;
}
