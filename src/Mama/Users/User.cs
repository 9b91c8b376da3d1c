namespace Mama.Users;

/// <summary>A person or workload that owns one LiteLLM virtual key. The row is the desired state of that key.</summary>
public sealed class User
{
    public long Id { get; set; }
    public required string UserId { get; set; }
    public string Organization { get; set; } = "";
    public string ExtraInfo { get; set; } = "";

    /// <summary>AES-GCM ciphertext of the key (nonce + ciphertext + tag); never the key itself.</summary>
    public byte[] KeyCiphertext { get; set; } = [];
    /// <summary>Which encryption key sealed <see cref="KeyCiphertext"/>, so keys can be rotated.</summary>
    public string KeyEncryptionKeyId { get; set; } = "";
    /// <summary>SHA-256 hex of the key: how LiteLLM names it. Reveals nothing of a 256-bit random key.</summary>
    public string KeyHash { get; set; } = "";
    /// <summary>The last four characters of the key, for the "sk-…abcd" preview without decrypting.</summary>
    public string KeyLastFour { get; set; } = "";

    public List<UserAllowedModel> AllowedModels { get; set; } = [];
    public List<UserAllowedService> AllowedServices { get; set; } = [];

    /// <summary>The allowed models again, newline-joined and sorted: lookups read one row instead of joining (names hold no control characters).</summary>
    public string ModelNames { get; set; } = "";
    /// <summary>The allowed services again, as <see cref="ModelNames"/>.</summary>
    public string ServiceNames { get; set; } = "";

    public IReadOnlyList<string> Models => Split(ModelNames);
    public IReadOnlyList<string> Services => Split(ServiceNames);

    /// <summary>Sets the allowed models in both forms, the rows (for filters) and the text (for lookups).</summary>
    public void SetModels(IEnumerable<string> names)
    {
        var sorted = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        AllowedModels.RemoveAll(m => !sorted.Contains(m.Name));
        AllowedModels.AddRange(sorted.Where(n => AllowedModels.All(m => m.Name != n)).Select(n => new UserAllowedModel { Name = n }));
        ModelNames = string.Join('\n', sorted);
    }

    public void SetServices(IEnumerable<string> names)
    {
        var sorted = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        AllowedServices.RemoveAll(s => !sorted.Contains(s.Name));
        AllowedServices.AddRange(sorted.Where(n => AllowedServices.All(s => s.Name != n)).Select(n => new UserAllowedService { Name = n }));
        ServiceNames = string.Join('\n', sorted);
    }

    /// <summary>What a lookup may hand out as working: the key reached the proxy, is not blocked (no models) and not in conflict.</summary>
    public static bool IsUsable(bool keyLive, SyncState state, string modelNames) =>
        keyLive && state != SyncState.Conflict && modelNames.Length > 0;

    public static IReadOnlyList<string> Split(string names) => names.Length == 0 ? [] : names.Split('\n');

    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
    public DateTimeOffset UpdatedAt { get; set; }
    public string UpdatedBy { get; set; } = "";

    /// <summary>Set when the user is deleted; the row stays as a tombstone until its key is gone from LiteLLM.</summary>
    public DateTimeOffset? DeletedAt { get; set; }

    public SyncState SyncState { get; set; } = SyncState.Pending;
    public string? SyncError { get; set; }
    public int SyncAttempts { get; set; }
    public DateTimeOffset? LastSyncedAt { get; set; }
    /// <summary>When the current key value was first confirmed on the proxy; null until then and again after the value changes.</summary>
    public DateTimeOffset? KeyLiveAt { get; set; }
    public DateTimeOffset? NextSyncAt { get; set; }
    /// <summary>Row lease so that two instances never sync the same user at once.</summary>
    public DateTimeOffset? SyncLeaseUntil { get; set; }
    public string? SyncLeaseOwner { get; set; }

    /// <summary>
    /// Set and committed before asking the proxy to mint this user's key (a proxy that refuses custom keys), cleared in the
    /// write that stores the minted key: while set, a key under the user's alias may exist that mama does not hold.
    /// </summary>
    public DateTimeOffset? MintRequestedAt { get; set; }

    /// <summary>
    /// The key being rotated in (issue 12), generated and stored encrypted before any call to the proxy; set from the
    /// rotation's start until the write that makes it current (the "swap"), which happens only once it is live.
    /// Lookups never return it while it is here.
    /// </summary>
    public byte[]? NextKeyCiphertext { get; set; }
    public string? NextKeyEncryptionKeyId { get; set; }
    public string? NextKeyHash { get; set; }
    public string? NextKeyLastFour { get; set; }

    /// <summary>The key a rotation replaced, still working on the proxy until <see cref="PreviousKeyExpiresAt"/>; then deleted and verified gone.</summary>
    public byte[]? PreviousKeyCiphertext { get; set; }
    public string? PreviousKeyEncryptionKeyId { get; set; }
    public string? PreviousKeyHash { get; set; }
    public string? PreviousKeyLastFour { get; set; }
    public DateTimeOffset? PreviousKeyExpiresAt { get; set; }

    /// <summary>The rotation operation running for this user, from its start until the new key is current; a second one is refused (409).</summary>
    public string? RotationId { get; set; }
    /// <summary>The grace window of the running rotation: how long the replaced key keeps working after the new one is live.</summary>
    public TimeSpan? RotationGrace { get; set; }

    /// <summary>When the key ends (optional): from then on the key is blocked on the proxy and lookups say <c>expired</c>.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>The <see cref="ExpiresAt"/> a <c>key.expiring</c> notice was queued for, so it goes out once per expiry date.</summary>
    public DateTimeOffset? ExpiryWarnedFor { get; set; }

    /// <summary>Bumped on every change of desired state; a sync only marks "synced" the version it pushed.</summary>
    public long Version { get; set; }
}

public sealed class UserAllowedModel
{
    public long UserDbId { get; set; }
    public required string Name { get; set; }
}

public sealed class UserAllowedService
{
    public long UserDbId { get; set; }
    public required string Name { get; set; }
}

public enum SyncState
{
    Pending,
    Synced,
    Error,
    /// <summary>The proxy holds another key under this user's alias: nothing is pushed until an admin resolves it.</summary>
    Conflict,
}

public static class SyncStateNames
{
    /// <summary>The wire name: <c>synced</c>, <c>pending</c>, <c>error</c> or <c>conflict</c>.</summary>
    public static string Name(this SyncState state) => state switch
    {
        SyncState.Synced => "synced",
        SyncState.Pending => "pending",
        SyncState.Conflict => "conflict",
        _ => "error",
    };
}
