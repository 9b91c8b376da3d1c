using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

/// <summary>A background job that runs on one instance at a time, whichever takes its row first.</summary>
public sealed class JobLease
{
    public const string DriftCheck = "drift-check";
    public const string KeyExpiry = "key-expiry";
    public const string AuditStream = "audit-stream";

    public required string Name { get; set; }
    public string? Owner { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
    /// <summary>When the job is due again, for every instance: the interval is the cluster's, not each instance's.</summary>
    public DateTimeOffset? NextRunAt { get; set; }
}

/// <summary>
/// Short leases on rows, taken by a conditional update and renewed while the work runs: a user's row while it is
/// pushed, a <see cref="JobLease"/> row while its job runs. Each take gets a token of its own, so a write made
/// "where the owner is my token" holds only for the worker that still holds the lease.
/// </summary>
public sealed class Leases(IDbContextFactory<MamaDbContext> dbFactory, IOptions<LiteLlmOptions> options, TimeProvider clock, ILogger<Leases> logger)
{
    private readonly string _instance = $"{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _takes;

    private TimeSpan Duration => options.Value.SyncLease;

    /// <summary>Takes the user's lease if nobody holds it; null when another worker does.</summary>
    public async Task<HeldLease?> TryTakeUserAsync(long id, CancellationToken ct)
    {
        var token = NewToken();
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var taken = await db.KeyUsers.Where(u => u.Id == id && (u.SyncLeaseUntil == null || u.SyncLeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, token).SetProperty(u => u.SyncLeaseUntil, now + Duration), ct);
        return taken == 1 ? Hold(token, now + Duration, (until, c) => RenewUserAsync(id, token, until, c), c => ReleaseUserAsync(id, token, c)) : null;
    }

    /// <summary>
    /// A lease for a user about to be inserted: the create writes its token and expiry into the row in its own transaction,
    /// so the user is born held, and its inline sync takes it over with <see cref="AdoptUserAsync"/> instead of a commit of its own.
    /// </summary>
    public NewUserLease ForNewUser() => new(NewToken(), clock.GetUtcNow() + Duration);

    /// <summary>
    /// Holds a lease the create wrote. While no renewal is due yet it is held exactly as if taken when the create committed,
    /// so nothing is written; later it is extended first, only if the row still names its token. Null when another worker took it.
    /// </summary>
    public async Task<HeldLease?> AdoptUserAsync(long id, NewUserLease lease, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var renewal = options.Value.SyncLeaseRenewal;
        var firstRenewal = lease.Until - Duration + renewal - now;
        if (firstRenewal >= TimeSpan.Zero)
            return Hold(lease.Token, lease.Until, (until, c) => RenewUserAsync(id, lease.Token, until, c), c => ReleaseUserAsync(id, lease.Token, c), firstRenewal);
        if (!await RenewUserAsync(id, lease.Token, now + Duration, ct)) return null;
        return Hold(lease.Token, now + Duration, (until, c) => RenewUserAsync(id, lease.Token, until, c), c => ReleaseUserAsync(id, lease.Token, c));
    }

    /// <summary>Takes the job's lease if nobody holds it (and, with <paramref name="onlyIfDue"/>, if the job is due).</summary>
    public async Task<HeldLease?> TryTakeJobAsync(string name, bool onlyIfDue, CancellationToken ct)
    {
        var token = NewToken();
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var taken = await db.JobLeases
            .Where(j => j.Name == name && (j.LeaseUntil == null || j.LeaseUntil < now) && (!onlyIfDue || j.NextRunAt == null || j.NextRunAt <= now))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, token).SetProperty(j => j.LeaseUntil, now + Duration), ct);
        return taken == 1 ? Hold(token, now + Duration, (until, c) => RenewJobAsync(name, token, until, c), c => ReleaseJobAsync(name, token, null, c)) : null;
    }

    /// <summary>Releases the job's lease and sets when any instance runs it next.</summary>
    public async Task FinishJobAsync(string name, HeldLease lease, DateTimeOffset nextRunAt)
    {
        await ReleaseJobAsync(name, lease.Token, nextRunAt, CancellationToken.None);
        lease.MarkReleased();
    }

    private HeldLease Hold(string token, DateTimeOffset until, Func<DateTimeOffset, CancellationToken, Task<bool>> renew, Func<CancellationToken, Task> release,
        TimeSpan? firstRenewal = null) =>
        new(token, until, renew, release, options.Value.SyncLease, options.Value.SyncLeaseRenewal, firstRenewal ?? options.Value.SyncLeaseRenewal, clock, logger);

    private string NewToken() => $"{_instance}:{Interlocked.Increment(ref _takes)}";

    private async Task<bool> RenewUserAsync(long id, string token, DateTimeOffset until, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == token)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseUntil, until), ct) == 1;
    }

    private async Task ReleaseUserAsync(long id, string token, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == token)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.SyncLeaseOwner, (string?)null).SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), ct);
    }

    private async Task<bool> RenewJobAsync(string name, string token, DateTimeOffset until, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobLeases.Where(j => j.Name == name && j.Owner == token)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.LeaseUntil, until), ct) == 1;
    }

    private async Task ReleaseJobAsync(string name, string token, DateTimeOffset? nextRunAt, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = db.JobLeases.Where(j => j.Name == name && j.Owner == token);
        if (nextRunAt is { } next)
            await job.ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, (string?)null).SetProperty(j => j.LeaseUntil, (DateTimeOffset?)null).SetProperty(j => j.NextRunAt, next), ct);
        else
            await job.ExecuteUpdateAsync(s => s.SetProperty(j => j.Owner, (string?)null).SetProperty(j => j.LeaseUntil, (DateTimeOffset?)null), ct);
    }
}

/// <summary>A user's lease made before its row exists: the create inserts the row holding it.</summary>
public sealed record NewUserLease(string Token, DateTimeOffset Until);

/// <summary>
/// A lease this worker holds, renewed in the background until disposed. <see cref="Lost"/> is cancelled as soon as
/// a renewal finds the lease taken, or when renewals failed for so long that it may have expired: work that runs
/// under the lease stops there, and its result is not recorded. Disposing releases the lease unless the work's
/// own final write did.
/// </summary>
public sealed class HeldLease : IAsyncDisposable
{
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<CancellationToken, Task> _release;
    private readonly ILogger _logger;
    private readonly Task _renewals;
    private bool _released;

    internal HeldLease(string token, DateTimeOffset until, Func<DateTimeOffset, CancellationToken, Task<bool>> renew, Func<CancellationToken, Task> release,
        TimeSpan duration, TimeSpan renewal, TimeSpan firstRenewal, TimeProvider clock, ILogger logger)
    {
        Token = token;
        _release = release;
        _logger = logger;
        _renewals = RenewAsync(until, renew, duration, renewal, firstRenewal, clock);
    }

    public string Token { get; }
    public CancellationToken Lost => _lost.Token;
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>The work's final write cleared the lease itself (it is conditional on <see cref="Token"/>).</summary>
    public void MarkReleased() => _released = true;

    private async Task RenewAsync(DateTimeOffset until, Func<DateTimeOffset, CancellationToken, Task<bool>> renew, TimeSpan duration, TimeSpan renewal, TimeSpan firstRenewal, TimeProvider clock)
    {
        for (var delay = firstRenewal; ; delay = renewal)
        {
            try
            {
                // Stopped is how every short push ends: no exception for it (one per pushed user showed in the sync profile).
                await Task.Delay(delay, clock, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (_stop.IsCancellationRequested) return;
                var next = clock.GetUtcNow() + duration;
                if (!await renew(next, _stop.Token))
                {
                    _lost.Cancel();
                    return;
                }
                until = next;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogWarning("Renewing a sync lease failed: {Reason}", e.Message);
                // Stop working one renewal before the lease could expire: another worker may take it from then on.
                if (clock.GetUtcNow() + renewal >= until)
                {
                    _lost.Cancel();
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _renewals;
        if (!_released && !IsLost)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _release(timeout.Token);
            }
            catch (Exception e)
            {
                // It expires on its own.
                _logger.LogWarning("Releasing a sync lease failed: {Reason}", e.Message);
            }
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}
