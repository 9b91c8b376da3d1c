using System.Collections.Concurrent;
using Mama.Data;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <summary>
/// Writes the results of many pushes in one transaction: "synced", and a rotation's swap and revocation
/// (<see cref="KeyRotationSteps"/>). Each result is its own conditional write (the worker's lease, the version it
/// pushed), as when written alone; what is shared is the commit, which on SQLite with <c>synchronous=FULL</c> is a disk
/// flush of 0.2–2 ms: one commit per user made a 1,000-user create wait for its own writes, and a rotation for four
/// flushes a user. A result that finds nobody writing is written at once; results that arrive during a write go in the
/// next, in the order of their users' row IDs (so two commits lock rows in one order). If a shared write fails, each of
/// its results is written alone, so one bad row fails only its own user.
/// </summary>
public sealed class SyncRecords(IDbContextFactory<MamaDbContext> dbFactory, ILogger<SyncRecords> logger)
{
    /// <summary>The most results in one transaction: the write lock is held for one such write at a time.</summary>
    private const int MaxBatch = 256;

    private readonly ConcurrentQueue<Pending> _queue = new();
    private int _writing;

    /// <summary>
    /// One result: its user's row ID and its writes, run in the shared transaction, true when they held. Writes that
    /// stage entities (audit events, webhooks) leave them to the shared <c>SaveChanges</c>; they may run twice (alone
    /// after a shared write failed), so they stage only what their own conditional write allowed.
    /// </summary>
    private sealed record Pending(long Id, Func<MamaDbContext, Task<bool>> Write)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Marks the user synced and releases its lease, if <paramref name="leaseToken"/> still holds it and the row is at
    /// <paramref name="version"/>; true when it did. Throws what the write threw when the user's own write fails.
    /// </summary>
    public Task<bool> SyncedAsync(long id, string leaseToken, long version, DateTimeOffset at, DateTimeOffset now) =>
        RecordAsync(id, async db => await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == leaseToken && u.Version == version)
            .ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, SyncState.Synced)
                .SetProperty(u => u.SyncError, (string?)null)
                .SetProperty(u => u.SyncAttempts, 0)
                .SetProperty(u => u.LastSyncedAt, at)
                .SetProperty(u => u.KeyLiveAt, u => u.KeyLiveAt ?? now)
                .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null)
                .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), CancellationToken.None) == 1);

    /// <summary>
    /// Runs <paramref name="write"/> (user <paramref name="id"/>'s result) in the next shared commit; its answer once committed.
    /// Throws what the write threw when it fails alone.
    /// </summary>
    public Task<bool> RecordAsync(long id, Func<MamaDbContext, Task<bool>> write)
    {
        var result = new Pending(id, write);
        _queue.Enqueue(result);
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0) _ = Task.Run(DrainAsync);
        return result.Done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            var batch = new List<Pending>();
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

    private async Task WriteAloneAsync(Pending result)
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

    private async Task WriteAsync(List<Pending> batch)
    {
        var none = CancellationToken.None; // the pushes happened: their results are recorded even if their callers gave up
        batch.Sort((a, b) => a.Id.CompareTo(b.Id));
        await using var db = await dbFactory.CreateDbContextAsync(none);
        await using var tx = await db.Database.BeginTransactionAsync(none);
        var recorded = new bool[batch.Count];
        for (var i = 0; i < batch.Count; i++) recorded[i] = await batch[i].Write(db);
        await db.SaveChangesAsync(none);
        await tx.CommitAsync(none);
        for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(recorded[i]);
    }
}
