using System.Globalization;
using System.Text;
using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace Mama.Webhooks;

/// <summary>
/// Sends the outbox: fans each new <see cref="WebhookEvent"/> out into one delivery per endpoint that wants it, then
/// posts due deliveries, signed as Standard Webhooks, each under a row lease so several instances never send one twice
/// at once. Per endpoint, events go out in order: a later one waits while an earlier one is pending. A failure is
/// retried with exponential backoff until <see cref="WebhookOptions.RetryFor"/> after the event, then marked failed.
/// </summary>
public sealed partial class WebhookDispatcher(
    IDbContextFactory<MamaDbContext> dbFactory,
    WebhookService webhooks,
    IHttpClientFactory httpFactory,
    IOptions<WebhookOptions> options,
    TimeProvider clock,
    Observability.MamaMetrics metrics,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";
    private const int Batch = 200;
    private const int Parallelism = 8;
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);
    private readonly string _instance = $"{Environment.ProcessId}:{Guid.NewGuid():N}";
    private long _takes;
    private DateTimeOffset _nextPrune;

    private WebhookOptions Options => options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var busy = false;
            try
            {
                busy = await RunCycleAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Webhook dispatch cycle failed");
            }
            if (busy) continue;
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

    /// <summary>One cycle: fan out new events, send what is due, prune now and then. True when it did something (look again at once).</summary>
    public async Task<bool> RunCycleAsync(CancellationToken ct)
    {
        var fannedOut = await FanOutAsync(ct);
        var sent = await DeliverDueAsync(ct);
        if (clock.GetUtcNow() >= _nextPrune)
        {
            await PruneAsync(ct);
            _nextPrune = clock.GetUtcNow() + PruneEvery;
        }
        return fannedOut > 0 || sent > 0;
    }

    private async Task<int> FanOutAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        try
        {
            return await db.InTransactionAsync(async token =>
            {
                var events = await db.WebhookEvents.AsNoTracking().Where(e => e.DispatchedAt == null).OrderBy(e => e.Id).Take(Batch)
                    .Select(e => new { e.Id, e.Type }).ToListAsync(token);
                if (events.Count == 0) return 0;
                var ids = events.Select(e => e.Id).ToList();
                var now = clock.GetUtcNow();
                // The claim: another instance fanning out the same events blocks here, then claims none and rolls back.
                var claimed = await db.WebhookEvents.Where(e => ids.Contains(e.Id) && e.DispatchedAt == null)
                    .ExecuteUpdateAsync(s => s.SetProperty(e => e.DispatchedAt, now), token);
                if (claimed != ids.Count) throw new FanOutRace();
                var endpoints = await db.WebhookEndpoints.AsNoTracking().Select(e => new { e.Id, e.Events }).ToListAsync(token);
                foreach (var e in events)
                    foreach (var endpoint in endpoints.Where(p => p.Events.Split(',').Contains(e.Type)))
                        db.WebhookDeliveries.Add(new WebhookDelivery { EventId = e.Id, EndpointId = endpoint.Id, CreatedAt = now, NextAttemptAt = now });
                await db.SaveChangesAsync(token);
                return events.Count;
            }, ct);
        }
        catch (FanOutRace)
        {
            return 0;
        }
    }

    private async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        List<long> due;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            var now = clock.GetUtcNow();
            due = await Due(db, now).OrderBy(d => d.EventId).Select(d => d.Id).Take(Parallelism * 4).ToListAsync(ct);
        }
        var sent = 0;
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (id, token) =>
        {
            if (await DeliverAsync(id, token)) Interlocked.Increment(ref sent);
        });
        return sent;
    }

    /// <summary>Pending deliveries whose time has come, unleased, with no earlier pending event to the same endpoint.</summary>
    private static IQueryable<WebhookDelivery> Due(MamaDbContext db, DateTimeOffset now) =>
        db.WebhookDeliveries.Where(d => d.State == WebhookDeliveryStates.Pending && d.NextAttemptAt <= now && (d.LeaseUntil == null || d.LeaseUntil < now)
            && !db.WebhookDeliveries.Any(o => o.EndpointId == d.EndpointId && o.State == WebhookDeliveryStates.Pending && o.EventId < d.EventId));

    /// <summary>Takes the delivery's lease (still due and first in line), sends it once, records the outcome. False when another worker has it.</summary>
    private async Task<bool> DeliverAsync(long id, CancellationToken ct)
    {
        var token = $"{_instance}:{Interlocked.Increment(ref _takes)}";
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var taken = await Due(db, now).Where(d => d.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseOwner, token).SetProperty(d => d.LeaseUntil, now + Options.Timeout * 2 + TimeSpan.FromSeconds(5)), ct);
        if (taken != 1) return false;
        var row = await (from d in db.WebhookDeliveries.AsNoTracking()
                         join e in db.WebhookEvents.AsNoTracking() on d.EventId equals e.Id
                         join p in db.WebhookEndpoints.AsNoTracking() on d.EndpointId equals p.Id
                         where d.Id == id
                         select new { Delivery = d, Event = e, Endpoint = p }).SingleOrDefaultAsync(ct);
        if (row is null) return false;
        var (status, error) = await SendAsync(row.Endpoint, row.Event, ct);
        await RecordAsync(db, row.Delivery, row.Event, token, status, error, ct);
        return true;
    }

    private async Task<(int? Status, string? Error)> SendAsync(WebhookEndpoint endpoint, WebhookEvent e, CancellationToken ct)
    {
        if (webhooks.SecretOf(endpoint) is not { } secret)
            return (null, "The endpoint's secret does not decrypt (sealed with an encryption key that is not configured, or its URL was changed in the database).");
        var sentAt = clock.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new StringContent(e.Payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("webhook-id", e.MessageId);
        request.Headers.Add("webhook-timestamp", sentAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", new StandardWebhook(secret).Sign(e.MessageId, sentAt, e.Payload));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.Timeout);
        try
        {
            using var response = await httpFactory.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            return status is >= 200 and < 300 ? (status, null)
                : (status, status is >= 300 and < 400 ? $"HTTP {status} (redirects are not followed)" : $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"No answer within {Options.Timeout.TotalSeconds:0.#} s.");
        }
        catch (HttpRequestException failure)
        {
            return (null, failure.Message.Length > 500 ? failure.Message[..500] : failure.Message);
        }
    }

    private async Task RecordAsync(MamaDbContext db, WebhookDelivery delivery, WebhookEvent e, string token, int? status, string? error, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var attempts = delivery.Attempts + 1;
        var mine = db.WebhookDeliveries.Where(d => d.Id == delivery.Id && d.LeaseOwner == token);
        if (error is null)
        {
            await mine.ExecuteUpdateAsync(s => s.SetProperty(d => d.State, WebhookDeliveryStates.Delivered).SetProperty(d => d.Attempts, attempts)
                .SetProperty(d => d.DeliveredAt, now).SetProperty(d => d.LastStatus, status).SetProperty(d => d.LastError, (string?)null)
                .SetProperty(d => d.LeaseOwner, (string?)null).SetProperty(d => d.LeaseUntil, (DateTimeOffset?)null), ct);
            metrics.WebhookDelivery("delivered", status);
            if (delivery.Attempts > 0) LogRecovered(delivery.Id, e.Type, delivery.EndpointId, attempts);
            return;
        }
        var deadline = e.CreatedAt + Options.RetryFor;
        var failed = now >= deadline;
        var next = failed ? now : Min(now + Backoff(attempts), deadline);
        await mine.ExecuteUpdateAsync(s => s.SetProperty(d => d.State, failed ? WebhookDeliveryStates.Failed : WebhookDeliveryStates.Pending)
            .SetProperty(d => d.Attempts, attempts).SetProperty(d => d.NextAttemptAt, next).SetProperty(d => d.LastStatus, status).SetProperty(d => d.LastError, error)
            .SetProperty(d => d.LeaseOwner, (string?)null).SetProperty(d => d.LeaseUntil, (DateTimeOffset?)null), ct);
        metrics.WebhookDelivery(failed ? "failed" : "retrying", status);
        if (failed) LogGaveUp(delivery.Id, e.Type, delivery.EndpointId, attempts, error);
        else if (delivery.Attempts == 0) LogFailing(delivery.Id, e.Type, delivery.EndpointId, error, next);
    }

    private TimeSpan Backoff(int attempts)
    {
        var factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        var backoff = Options.InitialBackoff * factor;
        return backoff > Options.MaxBackoff ? Options.MaxBackoff : backoff;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    internal async Task PruneAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow() - Options.KeepFor;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.WebhookDeliveries.Where(d => d.State != WebhookDeliveryStates.Pending && d.CreatedAt < cutoff).ExecuteDeleteAsync(ct);
        await db.WebhookEvents.Where(e => e.DispatchedAt != null && e.CreatedAt < cutoff
            && !db.WebhookDeliveries.Any(d => d.EventId == e.Id && d.State == WebhookDeliveryStates.Pending)).ExecuteDeleteAsync(ct);
    }

    private sealed class FanOutRace : Exception;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} ({EventType}) to endpoint {EndpointId} failed: {Error}; retrying from {NextAttemptAt:O}")]
    private partial void LogFailing(long deliveryId, string eventType, long endpointId, string error, DateTimeOffset nextAttemptAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} ({EventType}) to endpoint {EndpointId} gave up after {Attempts} attempts: {Error}")]
    private partial void LogGaveUp(long deliveryId, string eventType, long endpointId, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} ({EventType}) to endpoint {EndpointId} delivered after {Attempts} attempts")]
    private partial void LogRecovered(long deliveryId, string eventType, long endpointId, int attempts);
}
