using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Mama.Audit;

/// <summary>
/// Chains the events written before mama had a chain, once: at the first start after the migration, while the chain is
/// empty, in one transaction (all or nothing). Afterwards an event outside the chain is never sealed; verification
/// reports it as inserted.
/// </summary>
public static class AuditSeal
{
    private const int Chunk = 5_000;

    /// <returns>The number of events sealed.</returns>
    public static async Task<long> SealHistoryAsync(MamaDbContext db, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var head = await AuditChain.LockHeadAsync(db, ct);
        var anchor = await db.AuditChainHead.AsNoTracking().Select(h => h.AnchorSeq).SingleAsync(ct);
        if (head.Seq != 0 || anchor != 0) return 0;
        long sealedCount = 0;
        var after = 0L;
        while (true)
        {
            db.ChangeTracker.Clear();
            var chunk = await db.AuditEvents.AsTracking().Where(e => e.Seq == null && e.Id > after).OrderBy(e => e.Id).Take(Chunk).ToListAsync(ct);
            if (chunk.Count == 0) break;
            head = AuditChain.Link(chunk, head);
            await db.SaveChangesAsync(ct);
            after = chunk[^1].Id;
            sealedCount += chunk.Count;
        }
        if (sealedCount == 0) return 0;
        await using var move = db.Database.GetDbConnection().CreateCommand();
        move.Transaction = tx.GetDbTransaction();
        AuditChain.BindMove(move, head);
        await move.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return sealedCount;
    }
}
