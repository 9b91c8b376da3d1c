using System.Buffers;
using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Mama.Audit;

/// <summary>The one row that holds the chain's head: the last sealed event's sequence number and hash.</summary>
public sealed class AuditChainHead
{
    public const int RowId = 1;
    public int Id { get; set; } = RowId;
    public long Seq { get; set; }
    public string Hash { get; set; } = AuditChain.Genesis;
    /// <summary>Where verification starts: the genesis, or the checkpoint up to which retention deleted events.</summary>
    public long AnchorSeq { get; set; }
    public string AnchorHash { get; set; } = AuditChain.Genesis;
}

public readonly record struct ChainPosition(long Seq, string Hash);

/// <summary>
/// The hash chain over audit events. One chain for the whole database, serialised by a lock on its head row: every
/// transaction that writes events (the group-commit writer's batch, a change's own SaveChanges, an import) locks the
/// head first, numbers and hashes its events after it, and moves the head, so commit order is chain order on one
/// instance or many (PostgreSQL <c>SELECT … FOR UPDATE</c>; on SQLite every write transaction already holds the
/// database's write lock from its start, <c>BEGIN IMMEDIATE</c>).
/// Hash = SHA-256(previous hash's hex ‖ canonical JSON of the event), hex. The time is hashed to the microsecond, as
/// PostgreSQL keeps it; <see cref="Link"/> truncates it before the event is stored.
/// </summary>
public static class AuditChain
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private const string PostgresLock = """SELECT "Seq", "Hash" FROM "audit_chain" WHERE "Id" = 1 FOR UPDATE""";
    private const string SqliteRead = """SELECT "Seq", "Hash" FROM "audit_chain" WHERE "Id" = 1""";
    private const string MoveSql = """UPDATE "audit_chain" SET "Seq" = @seq, "Hash" = @hash WHERE "Id" = 1""";

    /// <summary>Numbers and hashes <paramref name="events"/> after <paramref name="head"/>, in order; returns the new head.</summary>
    public static ChainPosition Link(IEnumerable<AuditEvent> events, ChainPosition head)
    {
        foreach (var e in events)
        {
            e.At = Truncate(e.At);
            e.Seq = head.Seq + 1;
            e.Hash = HashOf(head.Hash, e);
            head = new ChainPosition(e.Seq.Value, e.Hash);
        }
        return head;
    }

    public static DateTimeOffset Truncate(DateTimeOffset at) => new(at.UtcTicks - at.UtcTicks % 10, TimeSpan.Zero);

    /// <summary>SHA-256 of <paramref name="prevHash"/> (its hex text, UTF-8) followed by the event's canonical JSON.</summary>
    public static string HashOf(string prevHash, AuditEvent e) => HashOf(prevHash, ChainContent.Of(e));

    public static string HashOf(string prevHash, in ChainContent content)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        buffer.Write(System.Text.Encoding.UTF8.GetBytes(prevHash));
        using (var json = new Utf8JsonWriter(buffer))
            content.WriteCanonical(json);
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    /// <summary>Locks the head for <paramref name="tx"/> (held until it ends) and reads it.</summary>
    public static async Task<ChainPosition> LockHeadAsync(DbConnection connection, DbTransaction tx, bool postgres, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = postgres ? PostgresLock : SqliteRead;
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) throw new InvalidOperationException("The audit chain's head row is missing; run the migrations.");
        return new ChainPosition(reader.GetInt64(0), reader.GetString(1));
    }

    public static ChainPosition LockHead(DbConnection connection, DbTransaction tx, bool postgres)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = postgres ? PostgresLock : SqliteRead;
        using var reader = command.ExecuteReader();
        if (!reader.Read()) throw new InvalidOperationException("The audit chain's head row is missing; run the migrations.");
        return new ChainPosition(reader.GetInt64(0), reader.GetString(1));
    }

    /// <summary>Locks the head for the context's current transaction (held until it ends) and reads it.</summary>
    public static Task<ChainPosition> LockHeadAsync(Data.MamaDbContext db, CancellationToken ct) =>
        LockHeadAsync(db.Database.GetDbConnection(),
            (db.Database.CurrentTransaction ?? throw new InvalidOperationException("The head is locked inside a transaction.")).GetDbTransaction(),
            db.Database.IsNpgsql(), ct);

    /// <summary>Makes <paramref name="command"/> move the head to <paramref name="head"/>, to run in the transaction that wrote the events.</summary>
    public static void BindMove(DbCommand command, ChainPosition head)
    {
        command.CommandText = MoveSql;
        AddMoveParameters(command.Parameters, command.CreateParameter, head);
    }

    public static void BindMove(DbBatchCommand command, ChainPosition head)
    {
        command.CommandText = MoveSql;
        AddMoveParameters(command.Parameters, command.CreateParameter, head);
    }

    private static void AddMoveParameters(DbParameterCollection parameters, Func<DbParameter> create, ChainPosition head)
    {
        foreach (var (name, value) in new (string, object)[] { ("@seq", head.Seq), ("@hash", head.Hash) })
        {
            var parameter = create();
            parameter.ParameterName = name;
            parameter.Value = value;
            parameters.Add(parameter);
        }
    }
}

/// <summary>
/// What an event's hash covers: every stored field but the id and the chain's own, as stored (the result as its text,
/// so a verifier reading raw rows hashes exactly what is in the table).
/// </summary>
public readonly record struct ChainContent(
    DateTimeOffset At, string Actor, string Action, string UserIds, string Detail, string Result, int StatusCode, string? Reason, string? Ip, string? TraceId)
{
    public static ChainContent Of(AuditEvent e) =>
        new(e.At, e.Actor, e.Action, e.UserIds, e.Detail, e.Result.ToString(), e.StatusCode, e.Reason, e.Ip, e.TraceId);

    /// <summary>A fixed order, the time to the microsecond in UTC.</summary>
    public void WriteCanonical(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("at", At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
        json.WriteString("actor", Actor);
        json.WriteString("action", Action);
        json.WriteString("user_ids", UserIds);
        json.WriteString("detail", Detail);
        json.WriteString("result", Result);
        json.WriteNumber("status_code", StatusCode);
        json.WriteString("reason", Reason);
        json.WriteString("ip", Ip);
        json.WriteString("trace_id", TraceId);
        json.WriteEndObject();
    }
}
