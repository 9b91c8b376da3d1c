using System.Data.Common;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Mama.Data;
using Mama.Http;
using Mama.Observability;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

public sealed record AuditEntry(
    Actor Actor,
    string Action,
    AuditResult Result,
    int StatusCode,
    IReadOnlyCollection<string>? UserIds = null,
    object? Detail = null,
    string? Reason = null);

public sealed class AuditUnavailableException(string message = "The audit log cannot be written.", Exception? inner = null)
    : Exception(message, inner)
{
    public static AuditUnavailableException QueueFull() => new("The audit queue is full.");
}

/// <summary>What the writer is doing, for the readiness check.</summary>
/// <param name="QueueFull">The queue is full, or refused an event since the writer last finished a batch.</param>
public sealed record AuditWriterState(bool QueueFull, int Queued, TimeSpan? BatchRunningFor, bool LastBatchFailed);

/// <summary>
/// The one way features write audit events. A change stages its event in its own SaveChanges
/// (<see cref="Stage"/>) so the two commit or fail together. A read or a refusal awaits
/// <see cref="WriteAsync"/> before responding; concurrent writes share one transaction (group commit).
/// An event whose waiter gave up (and so answered 503) is never committed afterwards.
/// </summary>
public sealed partial class AuditLog : IAsyncDisposable
{
    private const int MaxBatch = 512;

    private readonly IDbContextFactory<MamaDbContext> _dbFactory;
    private readonly TimeProvider _clock;
    private readonly ILogger<AuditLog> _logger;
    private readonly MamaMetrics _metrics;
    private readonly TimeSpan _timeout;
    private readonly int _capacity;
    private readonly bool _unchained;
    private readonly Channel<PendingWrite> _queue;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _batchStartedAt; // timestamp of the batch being written, 0 while idle
    private volatile bool _lastBatchFailed;
    private volatile bool _refusedSinceLastBatch;

    public AuditLog(IDbContextFactory<MamaDbContext> dbFactory, TimeProvider clock, ILogger<AuditLog> logger, IOptions<AuditOptions> options, MamaMetrics metrics)
    {
        _metrics = metrics;
        _dbFactory = dbFactory;
        _clock = clock;
        _logger = logger;
        _timeout = options.Value.WriteTimeout;
        _capacity = options.Value.QueueSize;
        _unchained = options.Value.Unchained;
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(_capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        metrics.ObserveAuditQueue(() => _queue.Reader.Count);
        // A thread of its own: each batch waits for the disk (fsync), and on a small machine a blocked pool thread
        // is a large share of the threads that serve requests.
        new Thread(WriteLoop) { IsBackground = true, Name = "mama audit writer" }.Start();
    }

    /// <summary>Adds the event to <paramref name="db"/>; it is written by the caller's SaveChanges, with the change it describes.</summary>
    public void Stage(MamaDbContext db, AuditEntry entry) => db.AuditEvents.Add(ToEvent(entry));

    /// <summary>
    /// Writes the event durably before returning; throws <see cref="AuditUnavailableException"/> if it cannot
    /// within the write timeout, or at once if the queue is full. A waiter that gives up (timeout or
    /// <paramref name="ct"/>) abandons its event unless the writer has already taken it for its commit.
    /// </summary>
    public async Task WriteAsync(AuditEntry entry, CancellationToken ct = default)
    {
        var pending = new PendingWrite(ToEvent(entry));
        if (!_queue.Writer.TryWrite(pending))
        {
            _refusedSinceLastBatch = true;
            _metrics.AuditFailed(1);
            throw AuditUnavailableException.QueueFull();
        }
        try
        {
            await pending.Done.Task.WaitAsync(_timeout, ct);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            if (pending.TryAbandon())
            {
                if (ct.IsCancellationRequested) throw new OperationCanceledException(ct);
                _metrics.AuditFailed(1); // never written: the writer skips or rolls back an abandoned event
                throw new AuditUnavailableException("Writing the audit event timed out.", e);
            }
            // The writer took it for the commit in progress: the outcome of that commit is the answer.
            await pending.Done.Task;
        }
    }

    public AuditWriterState State()
    {
        var started = Interlocked.Read(ref _batchStartedAt);
        var queued = _queue.Reader.Count;
        return new AuditWriterState(_refusedSinceLastBatch || queued >= _capacity, queued, started == 0 ? null : _clock.GetElapsedTime(started), _lastBatchFailed);
    }

    public TimeSpan WriteTimeout => _timeout;

    /// <summary>Group commit: whatever queued while the previous batch was being written goes into the next transaction.</summary>
    private void WriteLoop()
    {
        var batch = new List<PendingWrite>(MaxBatch);
        AuditBatchWriter? writer = null;
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                    if (item.IsQueued) batch.Add(item);
                if (batch.Count == 0)
                {
                    _refusedSinceLastBatch = false;
                    continue;
                }
                var started = _clock.GetTimestamp();
                Interlocked.Exchange(ref _batchStartedAt, started);
                try
                {
                    int committed;
                    try
                    {
                        writer ??= AuditBatchWriter.Open(_dbFactory, !_unchained);
                        committed = WriteClaimed(writer, batch);
                    }
                    catch (DbException e) when (e.IsTransient && !batch.Any(p => p.IsClaimed))
                    {
                        // The kept connection was dropped (a database restart or failover) before anything was claimed,
                        // so nothing committed: the batch is written once more on a fresh connection.
                        _logger.LogWarning(e, "Writing audit events failed transiently; retrying on a new connection");
                        writer?.Dispose();
                        writer = AuditBatchWriter.Open(_dbFactory, !_unchained);
                        committed = WriteClaimed(writer, batch);
                    }
                    // Events abandoned meanwhile were rolled back, and counted as failed by their waiters.
                    if (committed > 0) _metrics.AuditCommitted(committed, _clock.GetElapsedTime(started));
                    _lastBatchFailed = false;
                    _refusedSinceLastBatch = false;
                }
                catch (Exception e)
                {
                    // The next batch starts on a fresh connection.
                    writer?.Dispose();
                    writer = null;
                    _lastBatchFailed = true;
                    // Each failed event is counted once: here if the writer holds it (claimed now, so its waiter can no
                    // longer abandon it), else by the waiter that abandoned it.
                    var failed = batch.Where(p => p.IsClaimed || p.TryClaim()).ToList();
                    _metrics.AuditFailed(failed.Count);
                    _logger.LogError(e, "Writing {Count} audit events failed", batch.Count);
                    foreach (var p in failed) p.Done.TrySetException(new AuditUnavailableException(inner: e));
                }
                finally
                {
                    Interlocked.Exchange(ref _batchStartedAt, 0);
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
    /// Inserts the batch, then claims each event for the commit. A waiter can only abandon an event it still holds,
    /// so an event either commits and its waiter answers with it, or is abandoned and never commits. If some were
    /// abandoned while the inserts waited, the transaction is rolled back and the claimed ones written again.
    /// </summary>
    private static int WriteClaimed(AuditBatchWriter writer, List<PendingWrite> batch)
    {
        var claimed = new List<PendingWrite>(batch.Count);
        writer.Write(batch.ConvertAll(p => p.Event), () =>
        {
            foreach (var p in batch)
                if (p.TryClaim()) claimed.Add(p);
            return claimed.Count == batch.Count;
        });
        if (claimed.Count > 0 && claimed.Count < batch.Count) writer.Write(claimed.ConvertAll(p => p.Event), () => true);
        foreach (var p in claimed) p.Done.TrySetResult();
        return claimed.Count;
    }

    private AuditEvent ToEvent(AuditEntry entry) => new()
    {
        At = _clock.GetUtcNow(),
        Actor = Truncate(entry.Actor.Name, 200),
        Action = entry.Action,
        UserIds = AuditEvent.JoinUserIds(entry.UserIds),
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

    private sealed class PendingWrite(AuditEvent e)
    {
        private const int Queued = 0, Writing = 1, Abandoned = 2;
        private int _state;

        public AuditEvent Event { get; } = e;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool IsQueued => Volatile.Read(ref _state) == Queued;
        public bool IsAbandoned => Volatile.Read(ref _state) == Abandoned;
        public bool IsClaimed => Volatile.Read(ref _state) == Writing;
        public bool TryClaim() => Interlocked.CompareExchange(ref _state, Writing, Queued) == Queued;
        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Queued) == Queued;
    }
}
