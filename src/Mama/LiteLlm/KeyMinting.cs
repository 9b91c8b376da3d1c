using Mama.Data;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <summary>
/// Keys the proxy mints, for proxies that refuse key values chosen by mama (<c>disable_custom_api_keys</c>, a longer
/// <c>MINIMUM_CUSTOM_KEY_LENGTH</c>, a key policy hook). A minted key exists on the proxy before mama has stored it, so
/// the intent is committed first (<see cref="User.MintRequestedAt"/>) and cleared by the write that stores the key;
/// a user whose intent is still set may have a key under its alias that mama does not hold, which is deleted before
/// minting again. Every write holds only while the caller holds the user's sync lease.
/// </summary>
public sealed class KeyMinting(
    IDbContextFactory<MamaDbContext> dbFactory,
    LiteLlmClient liteLlm,
    KeyProtector protector,
    ProxyState proxy,
    TimeProvider clock,
    ILogger<KeyMinting> logger)
{
    /// <summary>
    /// A <c>/key/generate</c> refused for its key value, recognised conservatively by status and words: a wrong guess
    /// costs one mint attempt, and the mode is remembered only when that mint succeeds.
    /// </summary>
    public static bool IsCustomKeyRefusal(LiteLlmException e)
    {
        if (e is LiteLlmKeyNotFoundException || e.Transient) return false;
        var message = e.Message;
        bool Has(string word) => message.Contains(word, StringComparison.OrdinalIgnoreCase);
        return e.Status switch
        {
            // disable_custom_api_keys, or a custom_key_generate / custom_key_policy hook ("Custom Auth Rule").
            403 => Has("custom") || Has("auto-generated"),
            // The key format rules: the sk- prefix and MINIMUM_CUSTOM_KEY_LENGTH.
            400 => Has("Invalid key format") || (Has("key") && Has("at least") && Has("characters")),
            _ => false,
        };
    }

    /// <summary>Whether the user's key goes through the proxy's minting: the proxy refuses custom keys, or a mint of this user is unfinished.</summary>
    public async Task<bool> AppliesAsync(User user, CancellationToken ct) =>
        user.MintRequestedAt is not null || await proxy.CustomKeysAsync(ct) == ProxyState.Refused;

    /// <summary>Remembers that the proxy took a key value mama chose, unless something is known already.</summary>
    public async Task NoteCustomKeyAcceptedAsync(CancellationToken ct)
    {
        if (await proxy.CustomKeysAsync(ct) == ProxyState.Unknown)
            await proxy.SetCustomKeysAsync(ProxyState.Accepted, null, ct);
    }

    /// <summary>
    /// The proxy's row of the user's stored key when the proxy has it (the caller brings it to the spec); otherwise mints
    /// a key with the spec, stores it, and returns null. <paramref name="refusal"/>: the proxy has just refused the
    /// stored key's value, so it lacks it; once the mint succeeds, the refusal is remembered as the proxy's mode.
    /// <paramref name="slot"/>: the current key, or the key a rotation brings in (stored in the next slot, not yet current).
    /// <paramref name="knownAbsent"/>: the stored key was never sent to the proxy (a user just created), so it is not asked for.
    /// </summary>
    public async Task<LiteLlmKey?> EnsureAsync(User user, string leaseToken, KeySpec spec, CancellationToken ct, LiteLlmException? refusal = null,
        KeySlot slot = KeySlot.Current, bool knownAbsent = false)
    {
        if (refusal is null && !knownAbsent && await liteLlm.GetKeyByHashAsync(HashIn(user, slot), ct) is { } existing)
        {
            if (user.MintRequestedAt is not null) await ClearIntentAsync(user, leaseToken, ct);
            return existing;
        }
        await MintAsync(user, leaseToken, spec, slot, ct);
        if (refusal is not null)
        {
            logger.LogWarning("LiteLLM refuses key values chosen by mama ({Reason}); from now on the proxy mints every new key", refusal.Message);
            await proxy.SetCustomKeysAsync(ProxyState.Refused, refusal.Message, CancellationToken.None);
        }
        return null;
    }

    /// <summary>For a deleted user whose mint was unfinished: the key a lost answer may have left under its alias.</summary>
    public Task RemoveUnfinishedAsync(User user, CancellationToken ct) =>
        user.MintRequestedAt is null ? Task.CompletedTask : RemoveLeftoversAsync(user, ct);

    private static string HashIn(User user, KeySlot slot) => slot == KeySlot.Next ? user.NextKeyHash! : user.KeyHash;

    private async Task MintAsync(User user, string leaseToken, KeySpec spec, KeySlot slot, CancellationToken ct)
    {
        var interrupted = user.MintRequestedAt is not null;
        if (interrupted) await RemoveLeftoversAsync(user, ct);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // Only the lease holder writes, and only over the key it read: an import or another mint meanwhile wins.
        var mine = db.KeyUsers.Where(u => u.Id == user.Id && u.SyncLeaseOwner == leaseToken);
        mine = slot == KeySlot.Next ? mine.Where(u => u.NextKeyHash == user.NextKeyHash) : mine.Where(u => u.KeyHash == user.KeyHash);
        var requestedAt = clock.GetUtcNow();
        if (await mine.ExecuteUpdateAsync(s => s.SetProperty(u => u.MintRequestedAt, requestedAt), ct) == 0) throw Lost();

        string key;
        try
        {
            key = await liteLlm.MintKeyAsync(spec.ToGenerateRequest(""), ct);
        }
        catch (LiteLlmException e) when (interrupted && KeySync.IsAliasTaken(e))
        {
            // The earlier mint's generate reached the proxy after the leftovers were listed: its key is mama's own, not a conflict.
            await RemoveLeftoversAsync(user, ct);
            key = await liteLlm.MintKeyAsync(spec.ToGenerateRequest(""), ct);
        }

        // The proxy holds the key now: store it even if the caller has given up meanwhile.
        var (ciphertext, keyId, hash, lastFour) = (protector.Protect(key, user.UserId), protector.CurrentKeyId, LiteLlmClient.HashKey(key), key[^4..]);
        // A rotation's key goes into the next slot: it becomes current (and returned by lookups) only at the swap.
        var stored = slot == KeySlot.Next
            ? await mine.ExecuteUpdateAsync(s => s
                .SetProperty(u => u.NextKeyCiphertext, ciphertext)
                .SetProperty(u => u.NextKeyEncryptionKeyId, keyId)
                .SetProperty(u => u.NextKeyHash, hash)
                .SetProperty(u => u.NextKeyLastFour, lastFour)
                .SetProperty(u => u.MintRequestedAt, (DateTimeOffset?)null), CancellationToken.None)
            : await mine.ExecuteUpdateAsync(s => s
                .SetProperty(u => u.KeyCiphertext, ciphertext)
                .SetProperty(u => u.KeyEncryptionKeyId, keyId)
                .SetProperty(u => u.KeyHash, hash)
                .SetProperty(u => u.KeyLastFour, lastFour)
                .SetProperty(u => u.KeyLiveAt, clock.GetUtcNow()) // the proxy's answer is the proof that it holds this key
                .SetProperty(u => u.MintRequestedAt, (DateTimeOffset?)null), CancellationToken.None);
        if (stored == 0)
        {
            // The intent stays set: whoever holds the user now deletes this key by its alias and mints again.
            logger.LogWarning("The key minted for user {UserId} was not stored: its sync lease was lost meanwhile", user.UserId);
            throw Lost();
        }
    }

    /// <summary>Deletes the mama-managed keys under the user's alias other than the stored ones (current, next): what an interrupted mint left.</summary>
    private async Task RemoveLeftoversAsync(User user, CancellationToken ct)
    {
        foreach (var key in await liteLlm.KeysWithAliasAsync(user.UserId, ct))
        {
            if (!key.IsManagedByMama || key.Token == user.KeyHash || key.Token == user.NextKeyHash) continue;
            await liteLlm.DeleteKeyByHashAsync(key.Token!, ct);
            logger.LogInformation("Deleted a key of user {UserId} that an interrupted mint left on the proxy", user.UserId);
        }
    }

    private async Task ClearIntentAsync(User user, string leaseToken, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.KeyUsers.Where(u => u.Id == user.Id && u.SyncLeaseOwner == leaseToken)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.MintRequestedAt, (DateTimeOffset?)null), ct);
    }

    private static LiteLlmException Lost() => new(KeySync.LeaseLostReason, null, transient: true);
}

/// <summary>Where a minted key is stored: as the user's key, or as the key a rotation brings in.</summary>
public enum KeySlot { Current, Next }
