using Mama.Audit;
using Mama.Data;
using Mama.Observability;
using Mama.Rotation;
using Mama.Security;
using Mama.Users;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <summary>
/// The steps of a key rotation, run by <see cref="KeySync"/> under the user's lease: the proxy calls (each safe to
/// repeat) and the records that make a step's result durable, each only by the lease holder for the version pushed.
/// The new key is stored before any call; it is made current (the swap) only once the proxy holds it, so lookups never
/// return a key the proxy lacks; the replaced key keeps working until its grace ends, then is deleted and checked gone.
/// </summary>
public sealed class KeyRotationSteps(
    IDbContextFactory<MamaDbContext> dbFactory,
    LiteLlmClient liteLlm,
    KeyProtector protector,
    KeyMinting minting,
    SyncRecords records,
    AuditLog audit,
    TimeProvider clock,
    MamaMetrics metrics,
    ILogger<KeyRotationSteps> logger)
{
    public const string Live = "key.rotate.live";
    public const string Revoked = "key.rotate.revoked";
    public const string Failed = "key.rotate.failed";
    public const string StillOnProxyReason = "The replaced key is still on the proxy after its deletion; it is deleted again shortly.";

    /// <summary>
    /// Steps 3–4 for a user with a key in the next slot (an earlier rotation's replaced key was revoked in a round of its own): the current key
    /// is taken off the alias (so the alias is free for the new one), and the new key is made to exist on the proxy.
    /// </summary>
    public async Task AdvanceAsync(User user, string leaseToken, KeySpec spec, CancellationToken ct)
    {
        await UpdatePreviousAsync(user.KeyHash, spec, ct, keepMetadata: user.RotationGrace > TimeSpan.Zero);
        await EnsureNextAsync(user, leaseToken, spec, ct);
    }

    /// <summary>
    /// A replaced key (or one being replaced) gets every edit, off the alias; one already gone is fine. With
    /// <paramref name="keepMetadata"/> its metadata is read first, so what others put there (tags for spend reports)
    /// survives a window; a key about to be revoked at once (grace 0) is not worth that call.
    /// </summary>
    public async Task UpdatePreviousAsync(string hash, KeySpec spec, CancellationToken ct, bool keepMetadata = true)
    {
        var current = default(System.Text.Json.JsonElement);
        if (keepMetadata)
        {
            if (await liteLlm.GetKeyByHashAsync(hash, ct) is not { } existing) return;
            current = existing.Metadata;
        }
        try
        {
            await liteLlm.UpdateKeyByHashAsync(spec.ToPreviousKeyUpdateRequest(hash, current), ct);
        }
        catch (LiteLlmKeyNotFoundException)
        {
        }
    }

    /// <summary>Deletes the key and checks with the proxy that it is gone; a key still found is a transient failure, retried.</summary>
    public async Task RevokeAsync(string hash, CancellationToken ct)
    {
        await liteLlm.DeleteKeyByHashAsync(hash, ct);
        if (await liteLlm.GetKeyByHashAsync(hash, ct) is not null)
            throw new LiteLlmException(StillOnProxyReason, null, transient: true);
    }

    /// <summary>
    /// The generate comes first (one call when all goes well); an alias already taken may be this very key, created by an
    /// attempt whose answer was lost, which the info by its hash tells. A proxy that refuses the value mints the key instead.
    /// </summary>
    private async Task EnsureNextAsync(User user, string leaseToken, KeySpec spec, CancellationToken ct)
    {
        var hash = user.NextKeyHash!;
        if (await minting.AppliesAsync(user, ct))
        {
            if (await minting.EnsureAsync(user, leaseToken, spec, ct, slot: KeySlot.Next) is { } minted) await BringToSpecAsync(hash, minted, spec, ct);
            return;
        }
        var key = protector.Unprotect(user.NextKeyCiphertext!, user.NextKeyEncryptionKeyId!, user.UserId);
        try
        {
            await liteLlm.GenerateKeyAsync(spec.ToGenerateRequest(key), ct);
            await minting.NoteCustomKeyAcceptedAsync(ct);
        }
        catch (LiteLlmException e) when (e.Status == 400 && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase))
        {
            var existing = await liteLlm.GetKeyByHashAsync(hash, ct);
            if (existing is null) throw; // another key holds the alias: a conflict for an admin
            if (!KeySync.MayAdopt(existing, spec.Alias)) throw new KeyHeldElsewhereException();
            await BringToSpecAsync(hash, existing, spec, ct);
        }
        catch (LiteLlmException e) when (KeyMinting.IsCustomKeyRefusal(e))
        {
            await minting.EnsureAsync(user, leaseToken, spec, ct, refusal: e, slot: KeySlot.Next);
        }
    }

    private async Task BringToSpecAsync(string hash, LiteLlmKey existing, KeySpec spec, CancellationToken ct)
    {
        if (spec.Differences(existing).Count > 0) await liteLlm.UpdateKeyByHashAsync(spec.ToUpdateRequest(hash, existing.Metadata), ct);
    }

    /// <summary>
    /// Step 5, the swap, in one transaction (shared with other users' results, <see cref="SyncRecords"/>): previous ←
    /// current (working until now + grace), current ← next, the rotation ends for this user, its item is live (an earlier
    /// replaced key was revoked and recorded in a round of its own). False when this worker no longer holds the lease or
    /// the user changed since the push.
    /// </summary>
    public async Task<bool> RecordSwapAsync(User user, string leaseToken, bool keepLease, DateTimeOffset? specAt = null)
    {
        var none = CancellationToken.None;
        var now = clock.GetUtcNow();
        var expires = now + (user.RotationGrace ?? TimeSpan.Zero);
        var swapped = await records.RecordAsync(user.Id, async db =>
        {
            var changed = await db.KeyUsers.Where(u => u.Id == user.Id && u.SyncLeaseOwner == leaseToken && u.Version == user.Version && u.NextKeyHash != null)
                .ExecuteUpdateAsync(s =>
                {
                    s.SetProperty(u => u.PreviousKeyCiphertext, u => u.KeyCiphertext)
                    .SetProperty(u => u.PreviousKeyEncryptionKeyId, u => u.KeyEncryptionKeyId)
                    .SetProperty(u => u.PreviousKeyHash, u => u.KeyHash)
                    .SetProperty(u => u.PreviousKeyLastFour, u => u.KeyLastFour)
                    .SetProperty(u => u.PreviousKeyExpiresAt, u => u.KeyLiveAt == null ? now : expires) // a key that never went live needs no window
                    .SetProperty(u => u.KeyCiphertext, u => u.NextKeyCiphertext!)
                    .SetProperty(u => u.KeyEncryptionKeyId, u => u.NextKeyEncryptionKeyId!)
                    .SetProperty(u => u.KeyHash, u => u.NextKeyHash!)
                    .SetProperty(u => u.KeyLastFour, u => u.NextKeyLastFour!)
                    .SetProperty(u => u.NextKeyCiphertext, (byte[]?)null)
                    .SetProperty(u => u.NextKeyEncryptionKeyId, (string?)null)
                    .SetProperty(u => u.NextKeyHash, (string?)null)
                    .SetProperty(u => u.NextKeyLastFour, (string?)null)
                    .SetProperty(u => u.RotationId, (string?)null)
                    .SetProperty(u => u.RotationGrace, (TimeSpan?)null)
                    .SetProperty(u => u.KeyLiveAt, now)
                    .SetProperty(u => u.SyncState, SyncState.Synced)
                    .SetProperty(u => u.SyncError, (string?)null)
                    .SetProperty(u => u.SyncAttempts, 0)
                    .SetProperty(u => u.LastSyncedAt, specAt ?? now)
                    .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null);
                    // With no grace, the same worker goes on to revoke the replaced key at once, under the lease it holds.
                    if (!keepLease) s.SetProperty(u => u.SyncLeaseOwner, (string?)null).SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null);
                }, none);
            if (changed == 0) return false;
            await db.KeyRotationItems.Where(i => i.RotationId == user.RotationId && i.UserDbId == user.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.State, RotationItemStates.Live).SetProperty(i => i.LiveAt, now).SetProperty(i => i.Error, (string?)null), none);
            audit.Stage(db, new AuditEntry(Actor.System, Live, AuditResult.Success, 200, [user.UserId],
                new { rotation_id = user.RotationId, previous_key_expires_at = expires }));
            WebhookOutbox.Stage(db, WebhookEvents.KeyRotated, [user.UserId], now, new { rotation_id = user.RotationId, previous_key_expires_at = expires });
            return true;
        });
        if (!swapped) return false;
        metrics.KeyRotated();
        await LogIfFinishedAsync(user.RotationId);
        return true;
    }

    /// <summary>
    /// One line when the last key of a rotation is swapped or fails: the operator's "rotation finished". A cheap
    /// "anything pending?" first, so a rotation of n users costs n small reads, not n full ones. Two workers finishing
    /// the last two items at once may both see nothing pending and both log: there is no column to claim the line with.
    /// </summary>
    private async Task LogIfFinishedAsync(string? rotationId)
    {
        if (rotationId is null) return;
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        if (await RotationCounts.AnyPendingAsync(db, rotationId, CancellationToken.None)) return;
        var counts = await RotationCounts.ForAsync(db, rotationId, CancellationToken.None);
        logger.LogInformation("Rotation {RotationId} finished: {Rotated} keys rotated, {Failed} failed, {Skipped} skipped",
            rotationId, counts.Live + counts.Revoked, counts.Failed, counts.Skipped);
    }

    /// <summary>
    /// Step 7's record (in a shared commit, <see cref="SyncRecords"/>): the replaced key is gone (verified), so its slot is
    /// cleared and its rotation is complete for this user. With <paramref name="release"/> (the caller knows the user needs
    /// nothing else) the lease is released in the same write; otherwise the sync state and the lease are left as they are,
    /// and the caller goes on with whatever else the user needs.
    /// </summary>
    public Task<bool> RecordRevokedAsync(User user, string leaseToken, bool release = false)
    {
        var none = CancellationToken.None;
        var now = clock.GetUtcNow();
        return records.RecordAsync(user.Id, async db =>
        {
            var cleared = await db.KeyUsers.Where(u => u.Id == user.Id && u.SyncLeaseOwner == leaseToken && u.Version == user.Version && u.PreviousKeyHash == user.PreviousKeyHash)
                .ExecuteUpdateAsync(s =>
                {
                    s.SetProperty(u => u.PreviousKeyCiphertext, (byte[]?)null)
                    .SetProperty(u => u.PreviousKeyEncryptionKeyId, (string?)null)
                    .SetProperty(u => u.PreviousKeyHash, (string?)null)
                    .SetProperty(u => u.PreviousKeyLastFour, (string?)null)
                    .SetProperty(u => u.PreviousKeyExpiresAt, (DateTimeOffset?)null);
                    if (release) s.SetProperty(u => u.SyncLeaseOwner, (string?)null).SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null);
                }, none);
            if (cleared == 0) return false;
            await CloseRevokedAsync(db, user, now);
            return true;
        });
    }

    /// <summary>The live item of the rotation that replaced <paramref name="user"/>'s previous key becomes revoked, with its events.</summary>
    private async Task CloseRevokedAsync(MamaDbContext db, User user, DateTimeOffset now)
    {
        var items = await db.KeyRotationItems.Where(i => i.UserDbId == user.Id && i.State == RotationItemStates.Live && i.RotationId != user.RotationId)
            .ToListAsync(CancellationToken.None);
        foreach (var item in items)
        {
            item.State = RotationItemStates.Revoked;
            item.RevokedAt = now;
        }
        var rotationId = items.Select(i => i.RotationId).FirstOrDefault();
        audit.Stage(db, new AuditEntry(Actor.System, Revoked, AuditResult.Success, 200, [user.UserId], new { rotation_id = rotationId }));
        WebhookOutbox.Stage(db, WebhookEvents.KeyPreviousRevoked, [user.UserId], now, new { rotation_id = rotationId });
    }

    /// <summary>
    /// A failed step of a rotating user: a transient one leaves the item pending with the reason; a permanent one marks it
    /// failed and is audited once, when it first fails (the sync goes on retrying as for any error).
    /// </summary>
    public async Task RecordFailureAsync(User user, string error, bool permanent)
    {
        if (user.RotationId is null) return;
        var none = CancellationToken.None;
        await using var db = await dbFactory.CreateDbContextAsync(none);
        var item = db.KeyRotationItems.Where(i => i.RotationId == user.RotationId && i.UserDbId == user.Id);
        if (!permanent)
        {
            await item.Where(i => i.State == RotationItemStates.Pending).ExecuteUpdateAsync(s => s.SetProperty(i => i.Error, error), none);
            return;
        }
        var first = await item.Where(i => i.State == RotationItemStates.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.State, RotationItemStates.Failed).SetProperty(i => i.Error, error), none);
        if (first == 0) return;
        logger.LogWarning("Rotation {RotationId} of user {UserId} failed: {Reason}", user.RotationId, user.UserId, error);
        metrics.KeyRotationFailed();
        await audit.WriteAsync(new AuditEntry(Actor.System, Failed, AuditResult.Failure, 502, [user.UserId], new { rotation_id = user.RotationId }, error), none);
        await LogIfFinishedAsync(user.RotationId);
    }

    /// <summary>A deleted user's keys are all gone: items still waiting are skipped, a replaced key's item is revoked.</summary>
    public async Task RecordDeletedAsync(long userDbId)
    {
        var none = CancellationToken.None;
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(none);
        await db.KeyRotationItems.Where(i => i.UserDbId == userDbId && (i.State == RotationItemStates.Pending || i.State == RotationItemStates.Failed))
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.State, RotationItemStates.Skipped), none);
        await db.KeyRotationItems.Where(i => i.UserDbId == userDbId && i.State == RotationItemStates.Live)
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.State, RotationItemStates.Revoked).SetProperty(i => i.RevokedAt, now), none);
    }
}
