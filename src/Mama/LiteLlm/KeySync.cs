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
    private long _claims;

    private TimeSpan LeaseDuration => options.Value.SyncLease;

    /// <summary>
    /// Syncs the users now with bounded concurrency; whatever is not done within <paramref name="budget"/> is
    /// reported pending and left to the reconciler. Leases are claimed, and results recorded, one transaction per
    /// batch, so a batch of 1,000 users costs two commits rather than two thousand.
    /// </summary>
    public async Task<IReadOnlyList<SyncOutcome>> SyncAsync(IReadOnlyCollection<long> ids, TimeSpan budget, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var claim = $"{_owner}:{Interlocked.Increment(ref _claims)}";
        var leaseUntil = now + LeaseDuration;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.KeyUsers
            .Where(u => ids.Contains(u.Id) && (u.SyncLeaseUntil == null || u.SyncLeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, claim).SetProperty(u => u.SyncLeaseUntil, leaseUntil), ct);
        var users = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.Id)).ToListAsync(ct);
        var mine = users.Where(u => u.SyncLeaseOwner == claim).ToList();

        var results = new ConcurrentDictionary<long, Result>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(budget);
        try
        {
            await Parallel.ForEachAsync(mine, new ParallelOptions { MaxDegreeOfParallelism = options.Value.MaxConcurrency, CancellationToken = deadline.Token },
                async (user, token) => results[user.Id] = await PushAsync(user, token));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Out of budget: what finished is recorded below; the rest stays pending for the reconciler.
        }

        var outcomes = await RecordAsync(db, claim, mine, results);
        foreach (var user in users.Where(u => u.SyncLeaseOwner != claim))
            outcomes[user.Id] = new SyncOutcome(user.UserId, SyncOutcome.Pending, "Another worker is syncing this user.");
        return ids.Where(outcomes.ContainsKey).Select(id => outcomes[id]).ToList();
    }

    public async Task<SyncOutcome> SyncOneAsync(long id, CancellationToken ct) =>
        (await SyncAsync([id], Timeout.InfiniteTimeSpan, ct)).SingleOrDefault() ?? new SyncOutcome("", SyncOutcome.Deleted);

    private enum ResultKind { Synced, Deleted, Failed }

    private sealed record Result(ResultKind Kind, bool Transient = false, string? Error = null);

    /// <summary>The HTTP half of one user's sync: no database writes, so it can run in parallel.</summary>
    private async Task<Result> PushAsync(User user, CancellationToken ct)
    {
        try
        {
            var key = protector.Unprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId);
            if (user.DeletedAt is not null)
            {
                await liteLlm.DeleteKeyAsync(key, ct);
                return new Result(ResultKind.Deleted);
            }
            await EnsureKeyAsync(key, SpecOf(user), ct);
            return new Result(ResultKind.Synced);
        }
        catch (LiteLlmException e)
        {
            logger.LogWarning("Sync of user {UserId} failed (attempt {Attempts}): {Reason}", user.UserId, user.SyncAttempts + 1, e.Message);
            return new Result(ResultKind.Failed, e.Transient, e.Message);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return new Result(ResultKind.Failed, false, "The stored key cannot be decrypted with the configured encryption keys.");
        }
    }

    /// <summary>
    /// Records every result in one transaction. Each write holds only if the user's version is the one pushed:
    /// a change made meanwhile keeps the user pending, and only releases the lease.
    /// </summary>
    private async Task<Dictionary<long, SyncOutcome>> RecordAsync(MamaDbContext db, string claim, List<User> mine, ConcurrentDictionary<long, Result> results)
    {
        var outcomes = new Dictionary<long, SyncOutcome>();
        var none = CancellationToken.None; // the pushes happened: their outcome is recorded even if the caller gave up
        await using var tx = await db.Database.BeginTransactionAsync(none);
        foreach (var user in mine)
        {
            var id = user.Id;
            var version = user.Version;
            var now = clock.GetUtcNow();
            var recorded = 0;
            SyncOutcome outcome;
            if (!results.TryGetValue(id, out var result))
            {
                outcome = new SyncOutcome(user.UserId, SyncOutcome.Pending, "Still in progress; the reconciler will finish it.");
            }
            else if (result.Kind == ResultKind.Deleted)
            {
                // The tombstone goes only if nothing was asked of this user since.
                recorded = await db.KeyUsers.Where(u => u.Id == id && u.Version == version).ExecuteDeleteAsync(none);
                outcome = new SyncOutcome(user.UserId, recorded == 1 ? SyncOutcome.Deleted : SyncOutcome.Pending);
            }
            else if (result.Kind == ResultKind.Synced)
            {
                recorded = await db.KeyUsers.Where(u => u.Id == id && u.Version == version).ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.SyncState, SyncState.Synced)
                    .SetProperty(u => u.SyncError, (string?)null)
                    .SetProperty(u => u.SyncAttempts, 0)
                    .SetProperty(u => u.LastSyncedAt, now)
                    .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null)
                    .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                    .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none);
                outcome = new SyncOutcome(user.UserId, recorded == 1 ? SyncOutcome.Synced : SyncOutcome.Pending);
            }
            else
            {
                var attempts = user.SyncAttempts + 1;
                var state = result.Transient ? SyncState.Pending : SyncState.Error;
                var message = result.Error!.Length > 1000 ? result.Error[..1000] : result.Error;
                recorded = await db.KeyUsers.Where(u => u.Id == id && u.Version == version).ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.SyncState, state)
                    .SetProperty(u => u.SyncError, message)
                    .SetProperty(u => u.SyncAttempts, attempts)
                    .SetProperty(u => u.NextSyncAt, now + Backoff(attempts))
                    .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                    .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none);
                outcome = new SyncOutcome(user.UserId, state == SyncState.Error ? SyncOutcome.Failed : SyncOutcome.Pending, message);
            }
            if (recorded == 0)
                await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == claim).ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                    .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none);
            outcomes[id] = outcome;
        }
        await tx.CommitAsync(none);
        return outcomes;
    }

    /// <summary>Creates the key with mama's value if LiteLLM lacks it, else updates whatever differs. Safe to repeat.</summary>
    public async Task<string> EnsureKeyAsync(string key, KeySpec spec, CancellationToken ct)
    {
        var existing = await liteLlm.GetKeyAsync(key, ct);
        if (existing is null)
        {
            try
            {
                await liteLlm.GenerateKeyAsync(spec.ToRequest(key), ct);
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
            await liteLlm.UpdateKeyAsync(spec.ToRequest(key), ct);
            return "updated";
        }
        catch (LiteLlmKeyNotFoundException)
        {
            // Deleted between info and update: create it again.
            await liteLlm.GenerateKeyAsync(spec.ToRequest(key), ct);
            return "created";
        }
    }

    /// <summary>LiteLLM reads an empty model list as "all models"; mama means "none", so such a key is sent blocked.</summary>
    public static KeySpec SpecOf(User user) => new(user.UserId, user.Models, user.Organization, Blocked: user.Models.Count == 0);

    /// <summary>Exponential backoff with ±20 % jitter, so retries of many users spread out.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var o = options.Value;
        var delay = o.InitialBackoff * Math.Pow(2, Math.Min(attempts - 1, 20));
        if (delay > o.MaxBackoff) delay = o.MaxBackoff;
        return delay * (0.8 + Random.Shared.NextDouble() * 0.4);
    }
}
