using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>
/// Signs the chain's head every <c>Mama:Audit:CheckpointEvery</c> events or <c>CheckpointInterval</c>, whichever
/// comes first, on whichever instance gets there first (a checkpoint per head position, kept unique by the database);
/// and, when retention is on, deletes what it no longer keeps every <c>RetentionCheckInterval</c>.
/// </summary>
public sealed partial class AuditCheckpoints(
    IDbContextFactory<MamaDbContext> dbFactory,
    AuditCheckpointSigner signer,
    AuditRetention retention,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<AuditCheckpoints> logger) : BackgroundService
{
    private readonly DateTimeOffset _started = clock.GetUtcNow();

    public async Task<AuditCheckpoint?> LatestAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Seq).FirstOrDefaultAsync(ct);
    }

    /// <summary>Signs the head if it is due (or, with <paramref name="now"/>, if it moved since the last checkpoint); returns the latest checkpoint.</summary>
    public async Task<AuditCheckpoint?> SignHeadAsync(bool now, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var last = await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Seq).FirstOrDefaultAsync(ct);
        var at = clock.GetUtcNow();
        var due = head.Seq > (last?.Seq ?? 0) && (now
            || head.Seq - (last?.Seq ?? 0) >= options.Value.CheckpointEvery
            || at - (last?.At ?? _started) >= options.Value.CheckpointInterval);
        if (!due) return last;
        var checkpoint = signer.Sign(new ChainPosition(head.Seq, head.Hash), at);
        db.AuditCheckpoints.Add(checkpoint);
        try
        {
            await db.SaveChangesAsync(ct);
            LogSigned(checkpoint.Seq);
            return checkpoint;
        }
        catch (DbUpdateException)
        {
            // Another instance signed the same head first.
            if (await LatestAsync(ct) is { } other && other.Seq >= checkpoint.Seq) return other;
            throw;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = options.Value.CheckpointInterval < TimeSpan.FromSeconds(5) ? options.Value.CheckpointInterval : TimeSpan.FromSeconds(5);
        using var timer = new PeriodicTimer(period, clock);
        var purgedAt = long.MinValue;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SignHeadAsync(now: false, stoppingToken);
                if (options.Value.RetentionDays is not null
                    && (purgedAt == long.MinValue || clock.GetElapsedTime(purgedAt) >= options.Value.RetentionCheckInterval))
                {
                    purgedAt = clock.GetTimestamp();
                    await retention.PurgeAsync(stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(e);
            }
        }
    }

    [LoggerMessage(LogLevel.Debug, "Signed an audit checkpoint at seq {Seq}")]
    private partial void LogSigned(long seq);

    [LoggerMessage(LogLevel.Warning, "Signing an audit checkpoint or applying retention failed; trying again at the next tick")]
    private partial void LogFailed(Exception e);
}
