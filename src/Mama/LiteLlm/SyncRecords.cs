using System.Collections.Concurrent;
using Mama.Data;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <summary>
/// Writes "synced" results of many pushes in one transaction. Each result is its own conditional update (the worker's
/// lease, the version it pushed), as when written alone; what is shared is the commit, which on SQLite with
/// <c>synchronous=FULL</c> is a disk flush of ~2 ms: one commit per user made a 1,000-user create wait for its own
/// writes. A result that finds nobody writing is written at once; results that arrive during a write go in the next.
/// If a shared write fails, each of its results is written alone, so one bad row fails only its own user.
/// </summary>
public sealed class SyncRecords(IDbContextFactory<MamaDbContext> dbFactory, ILogger<SyncRecords> logger)
{
    /// <summary>The most results in one transaction: the write lock is held for one such write at a time.</summary>
    private const int MaxBatch = 256;

    private readonly ConcurrentQueue<Synced> _queue = new();
    private int _writing;

    /// <summary>One push's result: the user, the lease it was pushed under, the version it pushed, when.</summary>
    private sealed record Synced(long Id, string LeaseToken, long Version, DateTimeOffset At, DateTimeOffset Now)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Marks the user synced and releases its lease, if <paramref name="leaseToken"/> still holds it and the row is at
    /// <paramref name="version"/>; true when it did. Throws what the write threw when the user's own write fails.
    /// </summary>
    public Task<bool> SyncedAsync(long id, string leaseToken, long version, DateTimeOffset at, DateTimeOffset now)
    {
        var result = new Synced(id, leaseToken, version, at, now);
        _queue.Enqueue(result);
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0) _ = Task.Run(DrainAsync);
        return result.Done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var batch = new List<Synced>();
            while (batch.Count < MaxBatch && _queue.TryDequeue(out var next)) batch.Add(next);
            if (batch.Count == 0)
            {
                Volatile.Write(ref _writing, 0);
                // A result queued after the last look but before the flag fell found a writer; take the turn back for it.
                if (_queue.IsEmpty || Interlocked.CompareExchange(ref _writing, 1, 0) != 0) return;
                continue;
            }
            try
            {
                await WriteAsync(batch);
            }
            catch (Exception e) when (batch.Count > 1)
            {
                logger.LogWarning(e, "Recording {Count} sync results together failed; recording each alone", batch.Count);
                foreach (var one in batch) await WriteAloneAsync(one);
            }
            catch (Exception e)
            {
                batch[0].Done.TrySetException(e);
            }
        }
    }

    private async Task WriteAloneAsync(Synced result)
    {
        try
        {
            await WriteAsync([result]);
        }
        catch (Exception e)
        {
            result.Done.TrySetException(e);
        }
    }

    private async Task WriteAsync(IReadOnlyList<Synced> batch)
    {
        var none = CancellationToken.None; // the pushes happened: their results are recorded even if their callers gave up
        await using var db = await dbFactory.CreateDbContextAsync(none);
        await using var tx = batch.Count > 1 ? await db.Database.BeginTransactionAsync(none) : null;
        var recorded = new bool[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var (id, token, version, at, now) = (batch[i].Id, batch[i].LeaseToken, batch[i].Version, batch[i].At, batch[i].Now);
            recorded[i] = await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == token && u.Version == version)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(u => u.SyncState, SyncState.Synced)
                    .SetProperty(u => u.SyncError, (string?)null)
                    .SetProperty(u => u.SyncAttempts, 0)
                    .SetProperty(u => u.LastSyncedAt, at)
                    .SetProperty(u => u.KeyLiveAt, u => u.KeyLiveAt ?? now)
                    .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null)
                    .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                    .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none) == 1;
        }
        if (tx is not null) await tx.CommitAsync(none);
        for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(recorded[i]);
    }
}
