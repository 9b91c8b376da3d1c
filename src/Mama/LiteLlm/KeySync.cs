using System.Collections.Concurrent;
using Mama.Data;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

public sealed record SyncOutcome(string UserId, string State, string? Error = null)
{
    public const string Synced = "synced";
    public const string Pending = "pending";
    public const string Failed = "error";
    public const string Deleted = "deleted";
}

/// <summary>
/// Brings LiteLLM to the state the database holds, one user at a time, idempotently: ensure the key
/// (info → generate with mama's own key value, or update) or ensure it is gone (delete, "not found" = done).
/// A row lease keeps two workers (or two instances) off the same user; a version check keeps a sync from
/// marking "synced" a change it did not push.
/// </summary>
public sealed class KeySync(
    IDbContextFactory<MamaDbContext> dbFactory,
    LiteLlmClient liteLlm,
    KeyProtector protector,
    IOptions<LiteLlmOptions> options,
    TimeProvider clock,
    ILogger<KeySync> logger)
{
    private readonly string _owner = $"{Environment.ProcessId}:{Guid.NewGuid():N}";

    private TimeSpan LeaseDuration => options.Value.SyncLease;

    /// <summary>Syncs the users now with bounded concurrency; whatever is not done within <paramref name="budget"/> is reported pending and left to the reconciler.</summary>
    public async Task<IReadOnlyList<SyncOutcome>> SyncAsync(IReadOnlyCollection<long> ids, TimeSpan budget, CancellationToken ct)
    {
        var outcomes = new ConcurrentDictionary<long, SyncOutcome>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(budget);
        try
        {
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxConcurrency, CancellationToken = deadline.Token },
                async (id, token) => outcomes[id] = await SyncOneAsync(id, token));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }

        var missing = ids.Where(id => !outcomes.ContainsKey(id)).ToList();
        if (missing.Count > 0)
        {
            await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
            foreach (var row in await db.KeyUsers.AsNoTracking().Where(u => missing.Contains(u.Id)).Select(u => new { u.Id, u.UserId, u.SyncError }).ToListAsync(CancellationToken.None))
                outcomes[row.Id] = new SyncOutcome(row.UserId, SyncOutcome.Pending, row.SyncError ?? "Still in progress; the reconciler will finish it.");
        }
        return ids.Where(outcomes.ContainsKey).Select(id => outcomes[id]).ToList();
    }

    /// <summary>One user: claim the lease, push the desired state, record the result.</summary>
    public async Task<SyncOutcome> SyncOneAsync(long id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var leaseUntil = now + LeaseDuration;
        var claimed = await db.KeyUsers
            .Where(u => u.Id == id && (u.SyncLeaseUntil == null || u.SyncLeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, _owner).SetProperty(u => u.SyncLeaseUntil, leaseUntil), ct);
        var user = await db.KeyUsers.AsNoTracking().Include(u => u.AllowedModels).SingleOrDefaultAsync(u => u.Id == id, ct);
        if (user is null) return new SyncOutcome("", SyncOutcome.Deleted);
        if (claimed == 0) return new SyncOutcome(user.UserId, SyncOutcome.Pending, "Another worker is syncing this user.");

        try
        {
            var key = protector.Unprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId);
            if (user.DeletedAt is not null)
            {
                await liteLlm.DeleteKeyAsync(key, ct);
                // The tombstone goes only if nothing was asked of this user since (same version).
                var removed = await db.KeyUsers.Where(u => u.Id == id && u.Version == user.Version).ExecuteDeleteAsync(CancellationToken.None);
                if (removed == 1) return new SyncOutcome(user.UserId, SyncOutcome.Deleted);
                await ReleaseAsync(db, id);
                return new SyncOutcome(user.UserId, SyncOutcome.Pending);
            }

            await EnsureKeyAsync(key, SpecOf(user), ct);
            var marked = await db.KeyUsers.Where(u => u.Id == id && u.Version == user.Version).ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, SyncState.Synced)
                .SetProperty(u => u.SyncError, (string?)null)
                .SetProperty(u => u.SyncAttempts, 0)
                .SetProperty(u => u.LastSyncedAt, clock.GetUtcNow())
                .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null)
                .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);
            if (marked == 1) return new SyncOutcome(user.UserId, SyncOutcome.Synced);
            await ReleaseAsync(db, id); // changed meanwhile: the newer version is still due
            return new SyncOutcome(user.UserId, SyncOutcome.Pending);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await ReleaseAsync(db, id);
            return new SyncOutcome(user.UserId, SyncOutcome.Pending, "Still in progress; the reconciler will finish it.");
        }
        catch (Exception e) when (e is LiteLlmException or System.Security.Cryptography.CryptographicException)
        {
            var transient = e is LiteLlmException { Transient: true };
            var attempts = user.SyncAttempts + 1;
            var state = transient ? SyncState.Pending : SyncState.Error;
            var message = e is LiteLlmException ? e.Message : "The stored key cannot be decrypted with the configured encryption keys.";
            logger.LogWarning("Sync of user {UserId} failed (attempt {Attempts}): {Reason}", user.UserId, attempts, message);
            var recorded = await db.KeyUsers.Where(u => u.Id == id && u.Version == user.Version).ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, state)
                .SetProperty(u => u.SyncError, message.Length > 1000 ? message[..1000] : message)
                .SetProperty(u => u.SyncAttempts, attempts)
                .SetProperty(u => u.NextSyncAt, clock.GetUtcNow() + Backoff(attempts))
                .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);
            if (recorded == 0) await ReleaseAsync(db, id);
            return new SyncOutcome(user.UserId, state == SyncState.Error ? SyncOutcome.Failed : SyncOutcome.Pending, message);
        }
    }

    /// <summary>Creates the key with mama's value if LiteLLM lacks it, else updates whatever differs. Safe to repeat.</summary>
    public async Task<string> EnsureKeyAsync(string key, KeySpec spec, CancellationToken ct)
    {
        var existing = await liteLlm.GetKeyAsync(key, ct);
        if (existing is null)
        {
            try
            {
                await liteLlm.GenerateKeyAsync(new GenerateKeyRequest { Key = key, KeyAlias = spec.Alias, UserId = spec.Alias, Models = spec.Models, Metadata = spec.Metadata, Blocked = spec.Blocked }, ct);
                return "created";
            }
            catch (LiteLlmException e) when (e.Status == 400 && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase) && !e.Message.Contains("alias", StringComparison.OrdinalIgnoreCase))
            {
                // A proxy that refuses duplicate custom keys: it was created meanwhile, so update it below.
            }
        }
        else if (spec.Differences(existing).Count == 0)
        {
            return "unchanged";
        }

        try
        {
            await liteLlm.UpdateKeyAsync(new UpdateKeyRequest { Key = key, KeyAlias = spec.Alias, UserId = spec.Alias, Models = spec.Models, Metadata = spec.Metadata, Blocked = spec.Blocked }, ct);
            return "updated";
        }
        catch (LiteLlmKeyNotFoundException)
        {
            // Deleted between info and update: create it again.
            await liteLlm.GenerateKeyAsync(new GenerateKeyRequest { Key = key, KeyAlias = spec.Alias, UserId = spec.Alias, Models = spec.Models, Metadata = spec.Metadata, Blocked = spec.Blocked }, ct);
            return "created";
        }
    }

    /// <summary>LiteLLM reads an empty model list as "all models"; mama means "none", so such a key is sent blocked.</summary>
    public static KeySpec SpecOf(User user)
    {
        var models = user.AllowedModels.Select(m => m.Name).Order(StringComparer.Ordinal).ToList();
        return new KeySpec(user.UserId, models, user.Organization, Blocked: models.Count == 0);
    }

    /// <summary>Exponential backoff with ±20 % jitter, so retries of many users spread out.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var o = options.Value;
        var delay = o.InitialBackoff * Math.Pow(2, Math.Min(attempts - 1, 20));
        if (delay > o.MaxBackoff) delay = o.MaxBackoff;
        return delay * (0.8 + Random.Shared.NextDouble() * 0.4);
    }

    private async Task ReleaseAsync(MamaDbContext db, long id) =>
        await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == _owner).ExecuteUpdateAsync(s => s
            .SetProperty(u => u.SyncLeaseOwner, (string?)null)
            .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);
}
