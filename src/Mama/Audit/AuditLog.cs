using System.Data.Common;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Mama.Data;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.Audit;

public sealed record AuditEntry(
    Actor Actor,
    string Action,
    AuditResult Result,
    int StatusCode,
    IReadOnlyCollection<string>? UserIds = null,
    object? Detail = null,
    string? Reason = null);

public sealed class AuditUnavailableException(Exception? inner = null)
    : Exception("The audit log cannot be written.", inner);

/// <summary>
/// The one way features write audit events. A change stages its event in its own SaveChanges
/// (<see cref="Stage"/>) so the two commit or fail together. A read or a refusal awaits
/// <see cref="WriteAsync"/> before responding; concurrent writes share one transaction (group commit).
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);
    private const int MaxBatch = 512;

    private readonly IDbContextFactory<MamaDbContext> _dbFactory;
    private readonly TimeProvider _clock;
    private readonly ILogger<AuditLog> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new() { SingleReader = true });
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AuditLog(IDbContextFactory<MamaDbContext> dbFactory, TimeProvider clock, ILogger<AuditLog> logger)
    {
        _dbFactory = dbFactory;
        _clock = clock;
        _logger = logger;
        // A thread of its own: each batch waits for the disk (fsync), and on a small machine a blocked pool thread
        // is a large share of the threads that serve requests.
        new Thread(WriteLoop) { IsBackground = true, Name = "mama audit writer" }.Start();
    }

    /// <summary>Adds the event to <paramref name="db"/>; it is written by the caller's SaveChanges, with the change it describes.</summary>
    public void Stage(MamaDbContext db, AuditEntry entry) => db.AuditEvents.Add(ToEvent(entry));

    /// <summary>Writes the event durably before returning; throws <see cref="AuditUnavailableException"/> if it cannot.</summary>
    public async Task WriteAsync(AuditEntry entry, CancellationToken ct = default)
    {
        var pending = new PendingWrite(ToEvent(entry), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw new AuditUnavailableException();
        try
        {
            // Not cancelled with the request: once queued, the event is written even if the client goes away.
            await pending.Done.Task.WaitAsync(WriteTimeout, CancellationToken.None);
        }
        catch (Exception e) when (e is not AuditUnavailableException)
        {
            throw new AuditUnavailableException(e);
        }
    }

    /// <summary>Group commit: whatever queued while the previous batch was being written goes into the next transaction.</summary>
    private void WriteLoop()
    {
        var batch = new List<PendingWrite>(MaxBatch);
        BatchWriter? writer = null;
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
                try
                {
                    writer ??= BatchWriter.Open(_dbFactory);
                    writer.Write(batch);
                    foreach (var p in batch) p.Done.TrySetResult();
                }
                catch (Exception e)
                {
                    // The next batch starts on a fresh connection.
                    writer?.Dispose();
                    writer = null;
                    _logger.LogError(e, "Writing {Count} audit events failed", batch.Count);
                    foreach (var p in batch) p.Done.TrySetException(new AuditUnavailableException(e));
                }
            }
        }
        finally
        {
            writer?.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// Writes batches in one transaction each, with plain ADO.NET: this is the hot path of every audited read, and
    /// EF's change tracking would cost more than the insert. It keeps its connection open and, on SQLite, its
    /// statement prepared for the life of the writer. The connection is opened through EF so the provider's
    /// durability settings (SQLite synchronous=FULL) apply. SQLite runs the statement once per event (no round
    /// trips); PostgreSQL gets the batch in one round trip.
    /// </summary>
    private sealed class BatchWriter(MamaDbContext db, DbConnection connection, DbCommand? prepared, bool ticks) : IDisposable
    {
        private const string InsertSql = """
            INSERT INTO "audit_events" ("At", "Actor", "Action", "UserIds", "Detail", "Result", "StatusCode", "Reason", "Ip", "TraceId")
            VALUES (@at, @actor, @action, @user_ids, @detail, @result, @status_code, @reason, @ip, @trace_id)
            """;

        private static readonly string[] ParameterNames = ["@at", "@actor", "@action", "@user_ids", "@detail", "@result", "@status_code", "@reason", "@ip", "@trace_id"];

        public static BatchWriter Open(IDbContextFactory<MamaDbContext> dbFactory)
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
                return new BatchWriter(db, connection, prepared, ticks);
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }

        public void Write(List<PendingWrite> events)
        {
            using var tx = connection.BeginTransaction();
            if (prepared is not null)
            {
                prepared.Transaction = tx;
                foreach (var p in events)
                {
                    Bind(prepared.Parameters, p.Event, ticks);
                    prepared.ExecuteNonQuery();
                }
            }
            else
            {
                using var batch = connection.CreateBatch();
                batch.Transaction = tx;
                foreach (var p in events)
                {
                    var command = batch.CreateBatchCommand();
                    command.CommandText = InsertSql;
                    AddParameters(command.Parameters, command.CreateParameter);
                    Bind(command.Parameters, p.Event, ticks);
                    batch.BatchCommands.Add(command);
                }
                batch.ExecuteNonQuery();
            }
            tx.Commit();
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
        }
    }

    private AuditEvent ToEvent(AuditEntry entry) => new()
    {
        At = _clock.GetUtcNow(),
        Actor = Truncate(entry.Actor.Name, 200),
        Action = entry.Action,
        UserIds = entry.UserIds is { Count: > 0 } ids ? " " + string.Join(' ', ids) + " " : " ",
        Detail = Redact(entry.Detail is null ? "{}" : JsonSerializer.Serialize(entry.Detail, MamaJson.Options)),
        Result = entry.Result,
        StatusCode = entry.StatusCode,
        Reason = entry.Reason is null ? null : Truncate(Redact(entry.Reason), 1000),
        Ip = entry.Actor.Ip,
        TraceId = entry.Actor.TraceId,
    };

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    /// <summary>A last line of defence: nothing shaped like a LiteLLM key is ever stored in an event.</summary>
    public static string Redact(string text) => KeyPattern().Replace(text, "sk-***");

    [GeneratedRegex(@"sk-[A-Za-z0-9_\-]{6,}")]
    private static partial Regex KeyPattern();

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopped.Task;
    }

    private sealed record PendingWrite(AuditEvent Event, TaskCompletionSource Done);
}
