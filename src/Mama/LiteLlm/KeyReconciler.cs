using System.Diagnostics;
using Mama.Audit;
using Mama.Data;
using Mama.Observability;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

/// <summary>
/// The background half of the sync: retries what failed (with backoff), and periodically compares every
/// key on the proxy whose metadata says <c>managed_by: mama</c> with the database, repairing drift and
/// auditing each repair as <c>system</c>. Keys mama did not create are never touched. The drift check runs on
/// one instance at a time, under the <c>job_leases</c> row it takes, once per interval for all instances.
/// </summary>
public sealed class KeyReconciler(
    IDbContextFactory<MamaDbContext> dbFactory,
    KeySync sync,
    Leases leases,
    LiteLlmClient liteLlm,
    AuditLog audit,
    IOptions<LiteLlmOptions> options,
    TimeProvider clock,
    MamaMetrics metrics,
    ILogger<KeyReconciler> logger) : BackgroundService
{
    private const int Batch = 500;
    private volatile bool _proxyWasDown;
    private int _aliveCycles;
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>True while the last cycle found the proxy unreachable.</summary>
    public bool ProxyDown => _proxyWasDown;
    /// <summary>How many cycles have run with the proxy reachable (for operators' metrics and tests).</summary>
    public int AliveCycles => Volatile.Read(ref _aliveCycles);

    /// <summary>Asks for a reconcile cycle now instead of at the next interval.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using (MamaMetrics.Source.StartActivity("mama.reconcile")) await RunCycleAsync(stoppingToken);
                metrics.ReconcileCycle(Stopwatch.GetElapsedTime(started));
                // Outside the timed cycle and its span, so the duration and the trace measure the same work.
                if (metrics.WantsSyncBacklog) await RefreshBacklogAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Reconcile cycle failed");
            }
            try
            {
                await _wake.WaitAsync(options.Value.ReconcileInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One cycle: retry what is due, then the drift check if its time has come.</summary>
    public async Task RunCycleAsync(CancellationToken ct)
    {
        if (!await liteLlm.IsAliveAsync(ct))
        {
            // One line when it goes down and one when it is back; the polls in between say nothing at the default level.
            if (!_proxyWasDown) logger.LogWarning("LiteLLM is not answering; changes wait and are retried when it is back");
            _proxyWasDown = true;
            return;
        }
        if (_proxyWasDown)
        {
            logger.LogInformation("LiteLLM answers again; retrying what waited");
            // The proxy is back: whatever waited out a backoff because of the outage is due now.
            _proxyWasDown = false;
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.KeyUsers.Where(u => (u.SyncState != SyncState.Synced && u.SyncState != SyncState.Conflict) || u.DeletedAt != null)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.NextSyncAt, clock.GetUtcNow()), ct);
        }

        await RetryDueAsync(ct);

        if (options.Value.DriftCheckInterval > TimeSpan.Zero) await CheckDriftAsync(onlyIfDue: true, ct);
        Interlocked.Increment(ref _aliveCycles);
    }

    public async Task RetryDueAsync(CancellationToken ct)
    {
        var seen = new HashSet<long>();
        while (true)
        {
            var now = clock.GetUtcNow();
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var due = await db.KeyUsers.AsNoTracking()
                // A user in conflict waits for an admin: a retry would meet the same key under its alias.
                // A replaced key whose grace has ended is revoked by the sync whatever the user's state, conflict included.
                .Where(u => ((u.SyncState != SyncState.Synced && u.SyncState != SyncState.Conflict) || u.DeletedAt != null
                             || (u.PreviousKeyExpiresAt != null && u.PreviousKeyExpiresAt <= now))
                            && (u.NextSyncAt == null || u.NextSyncAt <= now)
                            && (u.SyncLeaseUntil == null || u.SyncLeaseUntil < now))
                .OrderBy(u => u.Id).Select(u => u.Id).Take(Batch).ToListAsync(ct);
            due.RemoveAll(id => !seen.Add(id));
            if (due.Count == 0) return;
            await sync.SyncAsync(due, Timeout.InfiniteTimeSpan, ct);
        }
    }

    /// <summary>
    /// Compares the proxy's mama-managed keys with the database and repairs every difference, if no other instance is
    /// doing so now (and, with <paramref name="onlyIfDue"/>, if the interval since the last check has passed).
    /// </summary>
    public async Task<bool> CheckDriftAsync(bool onlyIfDue, CancellationToken ct)
    {
        await using var lease = await leases.TryTakeJobAsync(JobLease.DriftCheck, onlyIfDue, ct);
        if (lease is null) return false;
        using var activity = MamaMetrics.Source.StartActivity("mama.drift_check");
        var started = Stopwatch.GetTimestamp();
        using var work = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
        try
        {
            await CheckDriftUnderLeaseAsync(work.Token);
        }
        catch (OperationCanceledException) when (lease.IsLost && !ct.IsCancellationRequested)
        {
            logger.LogWarning("The drift check lost its lease and stopped; the instance that took it carries on");
            return false;
        }
        await leases.FinishJobAsync(JobLease.DriftCheck, lease, clock.GetUtcNow() + options.Value.DriftCheckInterval);
        metrics.DriftCheck(Stopwatch.GetElapsedTime(started));
        return true;
    }

    private static readonly TimeSpan BacklogRefreshInterval = TimeSpan.FromSeconds(30);
    private DateTimeOffset? _backlogRefreshedAt;

    /// <summary>
    /// The gauges read these cached counts: one grouped count at most every 30 s, where once a scrape would cost one
    /// per scraper, and a busy reconciler (woken often) one per cycle.
    /// </summary>
    private async Task RefreshBacklogAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_backlogRefreshedAt is { } at && now - at < BacklogRefreshInterval) return;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var counts = await ProxyStatus.CountBacklogAsync(db, ct);
        metrics.SyncBacklog(counts.Pending, counts.Error, counts.Conflict);
        _backlogRefreshedAt = now;
    }

    private async Task CheckDriftUnderLeaseAsync(CancellationToken ct)
    {
        // The proxy is listed before the database is read: a key listed then has its row by now (rows come first),
        // so a key without a row is an orphan, never a user created meanwhile.
        var managed = new Dictionary<string, LiteLlmKey>();
        await foreach (var key in liteLlm.ListKeysAsync(ct))
            if (key.IsManagedByMama && key.Token is { Length: > 0 } token)
                managed[token] = key;

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var users = await db.KeyUsers.AsNoTracking().ToListAsync(ct);
        var now = clock.GetUtcNow();
        foreach (var user in users)
        {
            managed.Remove(user.KeyHash, out var onProxy);
            // A rotation's new key and the key it replaced are known keys, not orphans.
            if (user.NextKeyHash is not null) managed.Remove(user.NextKeyHash);
            if (user.PreviousKeyHash is not null) managed.Remove(user.PreviousKeyHash);
            // Users with a change in flight belong to the normal sync, not to the repair; so do rotating ones.
            if (user.DeletedAt is not null || user.SyncState != SyncState.Synced || user.SyncLeaseUntil > now
                || user.NextKeyHash is not null || user.PreviousKeyHash is not null) continue;
            if (onProxy is not null && KeySync.SpecOf(user, now, options.Value).Differences(onProxy).Count == 0) continue;
            // A candidate only: the repair re-reads the user and the key under the user's lease before it pushes.
            if (await sync.RepairAsync(user.Id, ct) is not { } repair) continue;
            await audit.WriteAsync(new AuditEntry(Actor.System, "key.repair", repair.Error is null ? AuditResult.Success : AuditResult.Failure, repair.Status,
                [repair.UserId], new { repair = repair.Repair, fields = repair.Differences }, repair.Error), ct);
        }

        // A key under the alias of a user whose mint is unfinished is that mint's: its recovery replaces it.
        var minting = users.Where(u => u.MintRequestedAt is not null).Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in managed.Values.Where(k => k.KeyAlias is null || !minting.Contains(k.KeyAlias)))
        {
            try
            {
                if (!await liteLlm.DeleteKeyByHashAsync(orphan.Token!, ct)) continue; // its user's deletion finished meanwhile
                await audit.WriteAsync(new AuditEntry(Actor.System, "key.repair", AuditResult.Success, 200, [orphan.KeyAlias ?? ""],
                    new { repair = "orphan_deleted", key_alias = orphan.KeyAlias }), ct);
            }
            catch (LiteLlmException e)
            {
                await audit.WriteAsync(new AuditEntry(Actor.System, "key.repair", AuditResult.Failure, e.Status ?? 503, [orphan.KeyAlias ?? ""],
                    new { repair = "orphan_deleted", key_alias = orphan.KeyAlias }, e.Message), ct);
            }
        }
    }
}
