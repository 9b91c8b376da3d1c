using Microsoft.EntityFrameworkCore;

namespace Mama.Data;

/// <summary>
/// Copies the SQLite write-ahead log into the database in the background. SQLite would otherwise do it inside
/// whichever commit crosses the threshold, and with synchronous=FULL that commit (often a batch of audit events
/// that many requests wait on) then also waits for the database file to be synced. A passive checkpoint never
/// blocks writers; commits stay durable in the log either way.
/// </summary>
public sealed class SqliteCheckpointer(IDbContextFactory<MamaDbContext> dbFactory, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync(stoppingToken);
                if (!db.Database.IsSqlite()) return;
                await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(PASSIVE);", stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Checkpointing the SQLite log failed; trying again shortly");
            }
        }
    }
}
