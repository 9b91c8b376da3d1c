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
    private readonly Task _writer;

    public AuditLog(IDbContextFactory<MamaDbContext> dbFactory, TimeProvider clock, ILogger<AuditLog> logger)
    {
        _dbFactory = dbFactory;
        _clock = clock;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
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

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWrite>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
            try
            {
                await SaveAsync(batch.Select(p => p.Event));
                foreach (var p in batch) p.Done.TrySetResult();
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Writing {Count} audit events failed", batch.Count);
                foreach (var p in batch) p.Done.TrySetException(new AuditUnavailableException(e));
            }
        }
    }

    private async Task SaveAsync(IEnumerable<AuditEvent> events)
    {
        await using var db = await _dbFactory.CreateDbContextAsync();
        db.AuditEvents.AddRange(events);
        await db.SaveChangesAsync();
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
        await _writer;
    }

    private sealed record PendingWrite(AuditEvent Event, TaskCompletionSource Done);
}
