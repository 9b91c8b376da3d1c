using System.Data.Common;
using Mama.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>What is wrong with the chain, at the first place it goes wrong.</summary>
/// <param name="Kind">
/// <c>content_changed</c> (the event's hash does not match its content), <c>event_missing</c> (an event before
/// <paramref name="EventId"/> is gone, or events were deleted outside retention), <c>event_inserted</c>
/// (<paramref name="EventId"/> was added outside the chain), <c>out_of_order</c> (<paramref name="EventId"/> was moved),
/// <c>checkpoint_invalid</c> (a checkpoint's signature is wrong), <c>checkpoint_missing</c> (a checkpoint was deleted),
/// <c>checkpoint_mismatch</c> (the chain was rewritten and re-hashed up to <paramref name="EventId"/>: it no longer
/// matches the checkpoint signed there).
/// </param>
public sealed record AuditChainProblem(string Kind, long? EventId, long? Seq, string Message);

/// <param name="Checked">Events walked.</param>
/// <param name="FromSeq">The anchor the walk started after: 0, or the checkpoint retention purged up to.</param>
/// <param name="SignedThroughSeq">The last checkpoint that matched: events after it are only as safe as the database.</param>
public sealed record AuditVerifyResult(
    bool Ok, long Checked, long FromSeq, long HeadSeq, long SignedThroughSeq, int Checkpoints, DateTimeOffset VerifiedAt, AuditChainProblem? Problem);

/// <summary>
/// Walks the audit chain in seq order, streaming raw rows inside one read-only snapshot (so events written meanwhile,
/// a checkpoint signed or a purge running are not mistaken for tampering), and reports the first thing wrong with it.
/// </summary>
public sealed class AuditVerifier(IDbContextFactory<MamaDbContext> dbFactory, AuditCheckpointSigner signer, TimeProvider clock, IOptions<AuditOptions> options)
{
    private const int ProgressEvery = 5_000;

    private const string RowsSql = """
        SELECT "Id", "Seq", "At", "Actor", "Action", "UserIds", "Detail", "Result", "StatusCode", "Reason", "Ip", "TraceId", "Hash"
        FROM "audit_events" WHERE "Seq" > @after ORDER BY "Seq"
        """;

    /// <summary>How old the chain's first event may be with no checkpoint at all, before that is taken as checkpoints deleted.</summary>
    public TimeSpan UnsignedGrace => TimeSpan.FromMinutes(5) + 2 * options.Value.CheckpointInterval;

    /// <param name="external">A checkpoint kept outside the database (from <c>audit checkpoint</c>), which the chain must still match.</param>
    /// <param name="progress">Told the number of events walked so far, every 5,000.</param>
    public async Task<AuditVerifyResult> VerifyAsync(AuditCheckpoint? external, IProgress<long>? progress, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Database.SetCommandTimeout(TimeSpan.FromHours(1));
        await using var snapshot = await BeginSnapshotAsync(db, ct);
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var checkpoints = await db.AuditCheckpoints.AsNoTracking().Where(c => c.Seq >= head.AnchorSeq).OrderBy(c => c.Seq).ToListAsync(ct);
        var walk = new AuditChainWalk(head, checkpoints, signer, external);
        long @checked = 0;
        AuditVerifyResult Result(AuditChainProblem? problem) => new(problem is null, @checked, head.AnchorSeq, head.Seq,
            walk.SignedThrough, checkpoints.Count, clock.GetUtcNow(), problem);

        if (walk.Start() is { } startProblem) return Result(startProblem);
        var outside = await db.AuditEvents.AsNoTracking().Where(e => e.Seq == null || e.Seq <= 0).OrderBy(e => e.Id).Select(e => (long?)e.Id).FirstOrDefaultAsync(ct);
        if (outside is { } inserted)
            return Result(new("event_inserted", inserted, null, $"Event {inserted} is not in the chain: it was written outside mama's audit writer."));

        var problem = await WalkAsync(db, snapshot, walk, head.AnchorSeq, () =>
        {
            if (++@checked % ProgressEvery == 0) progress?.Report(@checked);
        }, ct);
        return Result(problem ?? walk.Finish(clock.GetUtcNow() - UnsignedGrace));
    }

    /// <summary>
    /// Whether the chain still holds <paramref name="last"/>, the latest checkpoint: what the signer checks before it signs
    /// a new head, so that it never signs a chain rewritten from before its latest checkpoint (the events after it are,
    /// until signed, only as safe as the database; a full walk here would hash every event twice).
    /// </summary>
    public async Task<AuditChainProblem?> CheckTailAsync(AuditCheckpoint last, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        if (head.Seq < last.Seq) return new("event_missing", null, head.Seq + 1, $"The chain ends at seq {head.Seq}, before the latest checkpoint (seq {last.Seq}).");
        if (last.Seq < head.AnchorSeq) return null; // purged past it: the anchor's own checkpoint is newer
        var atLast = last.Seq == head.AnchorSeq ? head.AnchorHash
            : await db.AuditEvents.AsNoTracking().Where(e => e.Seq == last.Seq).Select(e => e.Hash).FirstOrDefaultAsync(ct);
        return atLast == last.Hash ? null : new("checkpoint_mismatch", null, last.Seq, $"The event at seq {last.Seq} no longer matches the latest checkpoint.");
    }

    /// <summary>Streams the rows after <paramref name="after"/> through the walk, one row of look-ahead.</summary>
    private static async Task<AuditChainProblem?> WalkAsync(MamaDbContext db, IDbContextTransaction snapshot, AuditChainWalk walk, long after, Action stepped, CancellationToken ct)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = snapshot.GetDbTransaction();
        command.CommandText = RowsSql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@after";
        parameter.Value = after;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var sqlite = db.Database.IsSqlite();
        ChainRow? pending = null;
        while (await reader.ReadAsync(ct))
        {
            var row = Read(reader, sqlite);
            if (pending is not null && walk.Step(pending, row) is { } problem) return problem;
            if (pending is not null) stepped();
            pending = row;
        }
        if (pending is null) return null;
        if (walk.Step(pending, null) is { } last) return last;
        stepped();
        return null;
    }

    /// <summary>
    /// A consistent read of the whole log that blocks no writer: PostgreSQL REPEATABLE READ; on SQLite (WAL) a deferred
    /// transaction, whose snapshot is taken at its first read.
    /// </summary>
    private static async Task<IDbContextTransaction> BeginSnapshotAsync(MamaDbContext db, CancellationToken ct)
    {
        if (!db.Database.IsSqlite()) return await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await db.Database.OpenConnectionAsync(ct);
        var tx = ((SqliteConnection)db.Database.GetDbConnection()).BeginTransaction(deferred: true);
        return await db.Database.UseTransactionAsync(tx, ct) ?? throw new InvalidOperationException("The snapshot transaction was not taken.");
    }

    /// <summary>The row's raw columns; a value that cannot be read as stored (text in a number column, say) makes it malformed, not a crash.</summary>
    private static ChainRow Read(DbDataReader r, bool sqlite)
    {
        var id = r.GetInt64(0);
        var seq = r.GetInt64(1);
        try
        {
            DateTimeOffset at;
            var malformed = false;
            if (sqlite)
            {
                var ticks = r.GetInt64(2);
                malformed = ticks % 10 != 0; // the chain stores microseconds: finer ticks were written by someone else
                at = new DateTimeOffset(ticks, TimeSpan.Zero);
            }
            else at = r.GetFieldValue<DateTimeOffset>(2);
            string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            var content = new ChainContent(at, r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7), r.GetInt32(8), Text(9), Text(10), Text(11));
            return new ChainRow(id, seq, content, Text(12), malformed);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            return new ChainRow(id, seq, default, null, Malformed: true);
        }
    }
}
