using System.Data.Common;
using Mama.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Mama.Audit;

/// <summary>
/// Writes batches in one transaction each, with plain ADO.NET: this is the hot path of every audited read, and
/// EF's change tracking would cost more than the insert. It keeps its connection open and, on SQLite, its
/// statement prepared for the life of the writer. The connection is opened through EF so the provider's
/// durability settings (SQLite synchronous=FULL) apply. SQLite runs the statement once per event (no round
/// trips); PostgreSQL gets the batch in one round trip.
/// </summary>
internal sealed class AuditBatchWriter(MamaDbContext db, DbConnection connection, DbCommand? prepared, bool ticks, bool chained) : IDisposable
{
    private const string InsertSql = """
        INSERT INTO "audit_events" ("At", "Actor", "Action", "UserIds", "Detail", "Result", "StatusCode", "Reason", "Ip", "TraceId", "Seq", "Hash")
        VALUES (@at, @actor, @action, @user_ids, @detail, @result, @status_code, @reason, @ip, @trace_id, @seq, @hash)
        """;

    private static readonly string[] ParameterNames = ["@at", "@actor", "@action", "@user_ids", "@detail", "@result", "@status_code", "@reason", "@ip", "@trace_id", "@seq", "@hash"];

    public static AuditBatchWriter Open(IDbContextFactory<MamaDbContext> dbFactory, bool chained = true)
    {
        var db = dbFactory.CreateDbContext();
        try
        {
            var ticks = db.Database.IsSqlite(); // SQLite stores instants as UTC ticks (see SqliteMamaDbContext)
            db.Database.OpenConnection();
            var connection = db.Database.GetDbConnection();
            DbCommand? prepared = null;
            if (!connection.CanCreateBatch)
            {
                prepared = connection.CreateCommand();
                prepared.CommandText = InsertSql;
                AddParameters(prepared.Parameters, prepared.CreateParameter);
                prepared.Prepare();
            }
            return new AuditBatchWriter(db, connection, prepared, ticks, chained);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Inserts the events in one transaction, chained after the head it locks first, and commits only if
    /// <paramref name="commit"/>, asked once they are in, says so.
    /// </summary>
    public void Write(IReadOnlyList<AuditEvent> events, Func<bool> commit)
    {
        using var tx = connection.BeginTransaction();
        // Unchained (a benchmark's baseline only) the events keep no place in the chain and the head stays.
        var head = chained ? AuditChain.Link(events, AuditChain.LockHead(connection, tx, postgres: !ticks)) : (ChainPosition?)null;
        if (prepared is not null)
        {
            prepared.Transaction = tx;
            foreach (var e in events)
            {
                Bind(prepared.Parameters, e, ticks);
                prepared.ExecuteNonQuery();
            }
            if (head is { } moved)
            {
                using var move = connection.CreateCommand();
                move.Transaction = tx;
                AuditChain.BindMove(move, moved);
                move.ExecuteNonQuery();
            }
        }
        else
        {
            using var batch = CreateBatch(connection, tx, events, head, ticks);
            batch.ExecuteNonQuery();
        }
        if (commit()) tx.Commit();
        else tx.Rollback();
    }

    /// <summary>
    /// Appends events to the chain inside a transaction someone else owns (a change's, an import's): the head is locked
    /// only now, after the change's own statements, and held until that transaction ends.
    /// </summary>
    public static async Task AppendAsync(DbConnection connection, DbTransaction tx, IReadOnlyList<AuditEvent> events, bool ticks, CancellationToken ct)
    {
        var head = AuditChain.Link(events, await AuditChain.LockHeadAsync(connection, tx, postgres: !ticks, ct));
        if (connection.CanCreateBatch)
        {
            await using var batch = CreateBatch(connection, tx, events, head, ticks);
            await batch.ExecuteNonQueryAsync(ct);
            return;
        }
        await using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = InsertSql;
        AddParameters(insert.Parameters, insert.CreateParameter);
        foreach (var e in events)
        {
            Bind(insert.Parameters, e, ticks);
            await insert.ExecuteNonQueryAsync(ct);
        }
        await using var move = connection.CreateCommand();
        move.Transaction = tx;
        AuditChain.BindMove(move, head);
        await move.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The inserts and the head's move as one batch: one round trip on PostgreSQL.</summary>
    private static DbBatch CreateBatch(DbConnection connection, DbTransaction tx, IReadOnlyList<AuditEvent> events, ChainPosition? head, bool ticks)
    {
        var batch = connection.CreateBatch();
        batch.Transaction = tx;
        foreach (var e in events)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = InsertSql;
            AddParameters(command.Parameters, command.CreateParameter);
            Bind(command.Parameters, e, ticks);
            batch.BatchCommands.Add(command);
        }
        if (head is { } moved)
        {
            var move = batch.CreateBatchCommand();
            AuditChain.BindMove(move, moved);
            batch.BatchCommands.Add(move);
        }
        return batch;
    }

    /// <summary>
    /// Whether an insert into the audit table could take its lock now, waiting at most a second: asks for the
    /// lock an insert needs and lets it go, writing nothing.
    /// </summary>
    public static async Task<bool> CanWriteAsync(IDbContextFactory<MamaDbContext> dbFactory, CancellationToken ct)
    {
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            if (db.Database.IsSqlite())
            {
                // A connection of its own, outside the pool: the pooled ones wait 10 s for a busy database.
                var settings = new SqliteConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false, DefaultTimeout = 1 };
                await using var sqlite = new SqliteConnection(settings.ToString());
                await sqlite.OpenAsync(ct);
                await using var tx = await sqlite.BeginTransactionAsync(ct); // BEGIN IMMEDIATE: the write lock
                await tx.RollbackAsync(ct);
                return true;
            }
            await using (var tx = await db.Database.BeginTransactionAsync(ct))
            {
                // The table, and the chain's head row that every batch locks first (a stuck holder of it stalls all writes).
                await db.Database.ExecuteSqlRawAsync("""
                    SET LOCAL lock_timeout = '1s'; LOCK TABLE "audit_events" IN ROW EXCLUSIVE MODE;
                    SELECT 1 FROM "audit_chain" WHERE "Id" = 1 FOR UPDATE
                    """, ct);
                await tx.RollbackAsync(ct);
            }
            return true;
        }
        catch (DbException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        prepared?.Dispose();
        db.Dispose();
    }

    private static void AddParameters(DbParameterCollection parameters, Func<DbParameter> create)
    {
        foreach (var name in ParameterNames)
        {
            var parameter = create();
            parameter.ParameterName = name;
            parameters.Add(parameter);
        }
    }

    /// <summary>Sets the values in the order of <see cref="ParameterNames"/>.</summary>
    private static void Bind(DbParameterCollection parameters, AuditEvent e, bool ticks)
    {
        parameters[0].Value = ticks ? e.At.UtcTicks : e.At;
        parameters[1].Value = e.Actor;
        parameters[2].Value = e.Action;
        parameters[3].Value = e.UserIds;
        parameters[4].Value = e.Detail;
        parameters[5].Value = e.Result.ToString();
        parameters[6].Value = e.StatusCode;
        parameters[7].Value = (object?)e.Reason ?? DBNull.Value;
        parameters[8].Value = (object?)e.Ip ?? DBNull.Value;
        parameters[9].Value = (object?)e.TraceId ?? DBNull.Value;
        parameters[10].Value = (object?)e.Seq ?? DBNull.Value;
        parameters[11].Value = (object?)e.Hash ?? DBNull.Value;
    }
}
