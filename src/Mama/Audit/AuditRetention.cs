using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>
/// Deletes events older than <c>Mama:Audit:RetentionDays</c>, but only up to a signed checkpoint, which becomes the
/// chain's new anchor: verification then starts there and still proves everything kept. The checkpoint's own time
/// decides (every event up to it committed before it was signed), so nothing younger than the retention is deleted.
/// The anchor moves first, with an <c>audit.purge</c> event, in one short transaction; the rows go afterwards in chunks,
/// so writers are not held up by a long delete.
/// </summary>
public sealed partial class AuditRetention(
    IDbContextFactory<MamaDbContext> dbFactory,
    AuditLog audit,
    AuditCheckpointSigner signer,
    IOptions<AuditOptions> options,
    IOptions<AuditStreamOptions> stream,
    TimeProvider clock,
    ILogger<AuditRetention> logger)
{
    public const string Action = "audit.purge";
    private const int Chunk = 10_000;

    /// <returns>The number of events deleted.</returns>
    public async Task<long> PurgeAsync(CancellationToken ct)
    {
        if (options.Value.RetentionDays is not { } days) return 0;
        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(days);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // Never past what the SIEM stream has delivered, when it is on.
        var limit = await AuditStreamCursor.DeliveredThroughAsync(db, stream.Value, ct) ?? long.MaxValue;
        var current = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var candidates = await db.AuditCheckpoints.AsNoTracking().Where(c => c.At < cutoff && c.Seq <= limit && c.Seq > current.AnchorSeq)
            .OrderByDescending(c => c.Seq).Take(10).ToListAsync(ct);
        foreach (var candidate in candidates)
        {
            if (!await IsGenuineAsync(db, candidate, cutoff, ct)) continue;
            if (await MoveAnchorAsync(db, candidate, cutoff, ct)) LogAnchored(candidate.Seq, days);
            break;
        }
        // Deleting goes only as far as an anchor this instance can vouch for: a signed checkpoint older than the cutoff.
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var anchor = await db.AuditCheckpoints.AsNoTracking().FirstOrDefaultAsync(c => c.Seq == head.AnchorSeq, ct);
        if (head.AnchorSeq == 0 || anchor is null || anchor.Hash != head.AnchorHash || !signer.IsValid(anchor) || anchor.At >= cutoff) return 0;
        long deleted = 0;
        while (!ct.IsCancellationRequested)
        {
            var lowest = await db.AuditEvents.Where(e => e.Seq <= anchor.Seq).MinAsync(e => e.Seq, ct);
            if (lowest is null) break;
            deleted += await db.AuditEvents.Where(e => e.Seq <= anchor.Seq && e.Seq < lowest + Chunk).ExecuteDeleteAsync(ct);
        }
        await db.AuditCheckpoints.Where(c => c.Seq < anchor.Seq).ExecuteDeleteAsync(ct);
        return deleted;
    }

    /// <summary>Signed by mama, older than the cutoff, and naming the event that is really at its seq.</summary>
    private async Task<bool> IsGenuineAsync(MamaDbContext db, AuditCheckpoint checkpoint, DateTimeOffset cutoff, CancellationToken ct) =>
        checkpoint.At < cutoff && signer.IsValid(checkpoint)
        && await db.AuditEvents.AnyAsync(e => e.Seq == checkpoint.Seq && e.Hash == checkpoint.Hash, ct);

    private async Task<bool> MoveAnchorAsync(MamaDbContext db, AuditCheckpoint anchor, DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await AuditChain.LockHeadAsync(db, ct);
        var head = await db.AuditChainHead.AsTracking().SingleAsync(ct);
        if (anchor.Seq <= head.AnchorSeq) return false; // another instance moved it meanwhile
        var from = head.AnchorSeq;
        head.AnchorSeq = anchor.Seq;
        head.AnchorHash = anchor.Hash;
        audit.Stage(db, new AuditEntry(Actor.System, Action, AuditResult.Success, 200,
            Detail: new { from_seq = from + 1, through_seq = anchor.Seq, older_than = cutoff, retention_days = options.Value.RetentionDays }));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    [LoggerMessage(LogLevel.Information, "Audit retention: events up to seq {Seq} (older than {Days} days) are no longer kept; the chain now starts at that checkpoint")]
    private partial void LogAnchored(long seq, int days);
}
