using System.Globalization;
using System.Text;
using Mama.Data;
using Mama.LiteLlm;
using Mama.Observability;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace Mama.Audit;

/// <summary>
/// Streams the audit log to a SIEM: the events after the durable cursor, in chain order (Seq), as one signed POST of
/// JSON lines per batch. The cursor moves to a batch's last Seq only once the receiver answered 2xx; until then the
/// same batch, under the same <c>webhook-id</c>, is sent again with backoff. So a crash repeats at most the batch that
/// was in flight, and nothing is skipped or reordered. One instance streams at a time, under a job lease.
/// </summary>
public sealed partial class AuditStream(
    IDbContextFactory<MamaDbContext> dbFactory,
    Leases leases,
    IHttpClientFactory httpFactory,
    IOptions<AuditStreamOptions> options,
    TimeProvider clock,
    MamaMetrics metrics,
    ILogger<AuditStream> logger) : BackgroundService
{
    public const string ContentType = "application/x-ndjson";

    private Failure _failure;

    private enum Failure
    {
        None,
        Delivery,
        Internal,
    }

    private AuditStreamOptions Options => options.Value;

    /// <summary>The last Seq delivered, or null while the stream is off; see <see cref="AuditStreamCursor.DeliveredThroughAsync"/>.</summary>
    public async Task<long?> DeliveredThroughAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await AuditStreamCursor.DeliveredThroughAsync(db, Options, ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Options.Enabled) return;
        LogOn(Authority(Options.Url!), Options.BatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using (var lease = await leases.TryTakeJobAsync(JobLease.AuditStream, onlyIfDue: false, stoppingToken))
                {
                    if (lease is not null)
                    {
                        using var work = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
                        await StreamAsync(lease, work.Token);
                    }
                }
                // Another instance streams: keep this one's lag current, and be ready to take over.
                await ObserveLagAsync(stoppingToken);
                await Task.Delay(Options.PollInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                LogLeaseLost();
            }
            catch (Exception e)
            {
                // The database, most likely; the next round starts from the durable cursor again.
                Failing(e.GetType().Name + ": " + e.Message);
                try
                {
                    await Task.Delay(Options.PollInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Delivers batch after batch while the lease holds; returns when another instance moved the cursor.</summary>
    private async Task StreamAsync(HeldLease lease, CancellationToken ct)
    {
        var cursor = await StartCursorAsync(ct);
        while (true)
        {
            var (batch, head) = await ReadAsync(cursor, ct);
            if (_failure == Failure.Internal) Recovered(null);
            metrics.AuditStreamLag(head - cursor);
            if (batch.Count == 0)
            {
                await Task.Delay(Options.PollInterval, clock, ct);
                continue;
            }
            var first = batch[0].Seq!.Value;
            var last = batch[^1].Seq!.Value;
            await DeliverAsync($"audit-{first}-{last}", Body(batch), batch.Count, ct);
            metrics.AuditStreamDelivered(batch.Count);
            if (!await MoveAsync(cursor, last, lease.Token)) return;
            metrics.AuditStreamLag(head - last);
            cursor = last;
        }
    }

    /// <summary>The cursor, after applying <see cref="AuditStreamOptions.StartAt"/> if the stream never ran.</summary>
    private async Task<long> StartCursorAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        var row = db.AuditStreamCursor.Where(c => c.Id == AuditStreamCursor.RowId && c.UpdatedAt == null);
        if (Options.StartsAtHead)
        {
            var head = await db.AuditChainHead.AsNoTracking().Select(h => h.Seq).SingleAsync(ct);
            if (await row.ExecuteUpdateAsync(s => s.SetProperty(c => c.Seq, head).SetProperty(c => c.UpdatedAt, now), ct) == 1) LogStartedAtHead(head);
        }
        else
        {
            await row.ExecuteUpdateAsync(s => s.SetProperty(c => c.UpdatedAt, now), ct);
        }
        return await db.AuditStreamCursor.AsNoTracking().Where(c => c.Id == AuditStreamCursor.RowId).Select(c => c.Seq).SingleAsync(ct);
    }

    private async Task<(List<AuditEvent> Batch, long Head)> ReadAsync(long cursor, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // The head first: every event up to it is committed (the head moves in the events' own transaction).
        var head = await db.AuditChainHead.AsNoTracking().Select(h => h.Seq).SingleAsync(ct);
        var batch = await db.AuditEvents.AsNoTracking().Where(e => e.Seq > cursor && e.Seq <= head)
            .OrderBy(e => e.Seq).Take(Options.BatchSize).ToListAsync(ct);
        return (batch, head);
    }

    private async Task ObserveLagAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var head = await db.AuditChainHead.AsNoTracking().Select(h => h.Seq).SingleAsync(ct);
        var cursor = await db.AuditStreamCursor.AsNoTracking().Select(c => c.Seq).SingleAsync(ct);
        metrics.AuditStreamLag(head - cursor);
    }

    private static string Body(List<AuditEvent> batch)
    {
        var body = new StringBuilder(batch.Count * 400);
        foreach (var e in batch) body.Append(AuditExport.JsonLine(AuditQueries.ToItem(e), e.Seq, e.Hash));
        return body.ToString();
    }

    /// <summary>Sends the batch until the receiver acknowledges it, with backoff; only cancellation ends it otherwise.</summary>
    private async Task DeliverAsync(string id, string body, int events, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (status, error) = await SendAsync(id, body, ct);
            if (error is null)
            {
                Recovered(attempt);
                return;
            }
            metrics.AuditStreamFailed(status);
            var backoff = Backoff(attempt);
            Failing(error, id, events, backoff);
            // While the receiver is down the lag is what an operator alerts on: keep it growing with the chain.
            await ObserveLagAsync(ct);
            await Task.Delay(backoff, clock, ct);
        }
    }

    private async Task<(int? Status, string? Error)> SendAsync(string id, string body, CancellationToken ct)
    {
        var sentAt = clock.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.Url) { Content = new StringContent(body, Encoding.UTF8, ContentType) };
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", sentAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", new StandardWebhook(AuditStreamOptions.SecretBytes(Options.Secret)!).Sign(id, sentAt, body));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.Timeout);
        try
        {
            using var response = await httpFactory.CreateClient(WebhookDispatcher.HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return status is >= 200 and < 300 ? (status, null)
                : (status, status is >= 300 and < 400 ? $"HTTP {status} (redirects are not followed)" : $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"no answer within {Options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException failure)
        {
            return (null, failure.Message.Length > 300 ? failure.Message[..300] : failure.Message);
        }
    }

    /// <summary>Moves the cursor from <paramref name="from"/> to <paramref name="to"/> if it is still there and this worker still holds the lease.</summary>
    private async Task<bool> MoveAsync(long from, long to, string token)
    {
        // Not the stopping token: an acknowledged batch is worth recording during shutdown, or the next start repeats it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var db = await dbFactory.CreateDbContextAsync(timeout.Token);
        var now = clock.GetUtcNow();
        return await db.AuditStreamCursor
            .Where(c => c.Id == AuditStreamCursor.RowId && c.Seq == from && db.JobLeases.Any(j => j.Name == JobLease.AuditStream && j.Owner == token))
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Seq, to).SetProperty(c => c.UpdatedAt, now), timeout.Token) == 1;
    }

    private TimeSpan Backoff(int attempt)
    {
        var backoff = Options.InitialBackoff * Math.Pow(2, Math.Min(attempt - 1, 30));
        return backoff > Options.MaxBackoff ? Options.MaxBackoff : backoff;
    }

    private void Failing(string error, string? id = null, int events = 0, TimeSpan? retryIn = null)
    {
        if (_failure != Failure.None) return;
        _failure = id is null ? Failure.Internal : Failure.Delivery;
        if (id is null) LogFailingInternally(error);
        else LogFailing(id, events, error, retryIn!.Value);
    }

    private void Recovered(int? attempts)
    {
        if (_failure == Failure.None) return;
        _failure = Failure.None;
        if (attempts is { } n) LogRecovered(n);
        else LogRecoveredInternally();
    }

    /// <summary>Scheme, host and port only: the path and query may hold the receiver's credentials.</summary>
    private static string Authority(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}" : "(unparsable URL)";

    [LoggerMessage(Level = LogLevel.Information, Message = "The audit stream is on: batches of up to {BatchSize} events go to {Receiver}")]
    private partial void LogOn(string receiver, int batchSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "The audit stream starts at the chain's head (seq {Seq}), as Mama:Audit:Stream:StartAt says")]
    private partial void LogStartedAtHead(long seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The audit stream is failing: batch {BatchId} ({Events} events) got {Error}; sending it again in {RetryIn}, and until it is acknowledged")]
    private partial void LogFailing(string batchId, int events, string error, TimeSpan retryIn);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The audit stream is failing: {Error}; trying again from the last delivered event")]
    private partial void LogFailingInternally(string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "The audit stream recovered: the batch was acknowledged after {Attempts} attempts")]
    private partial void LogRecovered(int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "The audit stream recovered: it reads the audit log again")]
    private partial void LogRecoveredInternally();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The audit stream lost its lease; whichever instance holds it carries on from the last delivered event")]
    private partial void LogLeaseLost();
}
