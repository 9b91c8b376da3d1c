using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Users;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Rotation;

/// <summary>
/// The calendar of keys, every <c>Mama:Rotation:ExpiryCheckInterval</c> on one instance at a time (job lease
/// <c>key-expiry</c>): queues <c>key.expiring</c> once per end date, <c>ExpiryWarning</c> ahead; marks users whose
/// end date passed since their last push for a push, so the sync blocks the key on the proxy (rather than LiteLLM's
/// own <c>duration</c>, which proxies handle differently); rotates keys older than <c>MaxKeyAge</c>.
/// </summary>
public sealed class KeyExpiry(
    IDbContextFactory<MamaDbContext> dbFactory,
    Leases leases,
    RotationService rotations,
    KeyReconciler reconciler,
    AuditLog audit,
    IOptions<RotationOptions> options,
    TimeProvider clock,
    ILogger<KeyExpiry> logger) : BackgroundService
{
    public const int Batch = 1000;
    public const string ExpiredAction = "key.expired";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ExpiryCheckInterval, clock);
        try
        {
            do
            {
                try
                {
                    await RunAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogError(e, "The key expiry check failed; it runs again in {Interval}", options.Value.ExpiryCheckInterval);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass, unless another instance is making one now. Every step only picks what is still to do, so a pass cut short is finished by the next.</summary>
    public async Task<bool> RunAsync(CancellationToken ct)
    {
        // Not "only if due": instances configured with other intervals (tests run two hosts) must not hold each other back.
        await using var lease = await leases.TryTakeJobAsync(JobLease.KeyExpiry, onlyIfDue: false, ct);
        if (lease is null) return false;
        using var work = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
        try
        {
            await WarnAsync(work.Token);
            if (await BlockExpiredAsync(work.Token) > 0) reconciler.Wake();
            if (options.Value.MaxKeyAge is { } maxAge && maxAge > TimeSpan.Zero) await RotateOldKeysAsync(maxAge, work.Token);
        }
        catch (OperationCanceledException) when (lease.IsLost && !ct.IsCancellationRequested)
        {
            logger.LogWarning("The key expiry check lost its lease and stopped; the next pass carries on");
            return false;
        }
        return true;
    }

    /// <summary>
    /// One <c>key.expiring</c> event per end date (users sharing one share the event), committed with
    /// <see cref="User.ExpiryWarnedFor"/> so it goes out once; a new end date is warned of again.
    /// </summary>
    private async Task WarnAsync(CancellationToken ct)
    {
        while (true)
        {
            var now = clock.GetUtcNow();
            var horizon = now + options.Value.ExpiryWarning;
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var users = await db.KeyUsers.AsTracking()
                .Where(u => u.DeletedAt == null && u.ExpiresAt > now && u.ExpiresAt <= horizon && (u.ExpiryWarnedFor == null || u.ExpiryWarnedFor != u.ExpiresAt))
                .OrderBy(u => u.Id).Take(Batch).ToListAsync(ct);
            if (users.Count == 0) return;
            foreach (var group in users.GroupBy(u => u.ExpiresAt!.Value))
            {
                foreach (var user in group) user.ExpiryWarnedFor = user.ExpiresAt;
                WebhookOutbox.Stage(db, WebhookEvents.KeyExpiring, group.Select(u => u.UserId).ToList(), now, new { expires_at = group.Key });
            }
            if (!await SavedAsync(db, ct) || users.Count < Batch) return;
        }
    }

    /// <summary>
    /// Users whose end date passed since their last push become pending with a new version, so the sync pushes them
    /// blocked (<see cref="KeySync.SpecOf"/>). Only synced users: a pending or failing one is pushed, blocked, by its own retry.
    /// </summary>
    private async Task<int> BlockExpiredAsync(CancellationToken ct)
    {
        var marked = 0;
        while (true)
        {
            var now = clock.GetUtcNow();
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var users = await db.KeyUsers.AsTracking()
                .Where(u => u.DeletedAt == null && u.SyncState == SyncState.Synced && u.ExpiresAt <= now && u.LastSyncedAt < u.ExpiresAt)
                .OrderBy(u => u.Id).Take(Batch).ToListAsync(ct);
            if (users.Count == 0) return marked;
            foreach (var user in users)
            {
                user.SyncState = SyncState.Pending;
                user.SyncAttempts = 0;
                user.NextSyncAt = now;
                user.Version++;
                audit.Stage(db, new AuditEntry(Actor.System, ExpiredAction, AuditResult.Success, 200, [user.UserId], new { expires_at = user.ExpiresAt }));
            }
            if (!await SavedAsync(db, ct)) return marked;
            marked += users.Count;
            if (users.Count < Batch) return marked;
        }
    }

    /// <summary>
    /// Rotates keys live for longer than <paramref name="maxAge"/>, with the default grace, a batch at a time. Users already
    /// rotating or in their grace window are left alone, as are expired keys: rotating would unblock them.
    /// </summary>
    private async Task RotateOldKeysAsync(TimeSpan maxAge, CancellationToken ct)
    {
        while (true)
        {
            var now = clock.GetUtcNow();
            var liveBefore = now - maxAge;
            List<string> ids;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
                ids = await db.KeyUsers.Where(u => u.DeletedAt == null && u.KeyLiveAt <= liveBefore && u.RotationId == null && u.PreviousKeyExpiresAt == null
                                                   && u.SyncState != SyncState.Conflict && (u.ExpiresAt == null || u.ExpiresAt > now))
                    .OrderBy(u => u.Id).Select(u => u.UserId).Take(Batch).ToListAsync(ct);
            if (ids.Count == 0) return;
            try
            {
                var started = await rotations.StartAsync(new RotateRequest(ids, null, null), Actor.System, ct, RotationTriggers.MaxKeyAge);
                logger.LogInformation("Rotating {Count} keys older than {MaxKeyAge}: {RotationId}", started.Total, maxAge, started.RotationId);
            }
            catch (ProblemException e)
            {
                // A user deleted or rotated by someone between the read and the start: the next pass picks the rest.
                logger.LogInformation("Rotating keys older than {MaxKeyAge} waits for the next pass: {Reason}", maxAge, e.Message);
                return;
            }
            if (ids.Count < Batch) return;
        }
    }

    /// <summary>False when a user changed meanwhile: nothing of the batch is written, and the next pass looks again.</summary>
    private static async Task<bool> SavedAsync(MamaDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
    }
}
