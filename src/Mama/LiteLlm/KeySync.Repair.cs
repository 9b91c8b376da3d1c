using Mama.Users;

namespace Mama.LiteLlm;

public sealed partial class KeySync
{
    /// <summary>
    /// The drift repair of one user, through the same lease as a sync: the user is re-read under it and repaired only
    /// if it is still synced (a pending change belongs to the sync), against the proxy's row as it is now. Null when
    /// there was nothing to repair or another worker holds the user.
    /// </summary>
    public async Task<RepairOutcome?> RepairAsync(long id, CancellationToken ct)
    {
        await using var lease = await leases.TryTakeUserAsync(id, ct);
        if (lease is null) return null;
        using var work = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
        var user = await ReadAsync(id, ct);
        // A user with a rotation running or a replaced key still on the proxy is the sync's to bring to its state.
        if (user is null || user.DeletedAt is not null || user.SyncState != SyncState.Synced || user.NextKeyHash is not null || user.PreviousKeyHash is not null)
            return null;
        var spec = SpecOf(user, clock.GetUtcNow(), options.Value);
        IReadOnlyList<string> differences = [];
        try
        {
            var key = protector.Unprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId);
            var existing = await liteLlm.GetKeyByHashAsync(user.KeyHash, work.Token);
            differences = existing is null ? ["key"] : spec.Differences(existing);
            if (differences.Count == 0) return null;
            await EnsureOrMintAsync(user, key, lease.Token, spec, work.Token, existing);
            return new RepairOutcome(user.UserId, existing is null ? "recreated" : "updated", differences);
        }
        catch (OperationCanceledException) when (lease.IsLost && !ct.IsCancellationRequested)
        {
            return null;
        }
        catch (LiteLlmException e)
        {
            return new RepairOutcome(user.UserId, differences.Contains("key") ? "recreated" : "updated", differences, e.Status ?? 503, e.Message);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null; // the sync reports an unreadable key; a repair cannot help
        }
    }
}
