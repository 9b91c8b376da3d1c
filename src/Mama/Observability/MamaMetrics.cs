using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mama.Observability;

/// <summary>
/// mama's own instruments, on the meter "Mama" (names under <c>mama.</c>). Recording costs a few atomic adds: tags are
/// structs and constant strings, and no user ID is ever a tag value (cardinality, and who looked up whom is the audit's business).
/// </summary>
public sealed class MamaMetrics
{
    public const string Name = "Mama";

    /// <summary>Spans of mama's own work (reconcile and drift cycles), next to the ASP.NET Core, HttpClient and EF Core ones.</summary>
    public static readonly ActivitySource Source = new(Name);

    private static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly int[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
    private static readonly object[] StatusCodes = Enumerable.Range(0, 600).Select(i => (object)i).ToArray();

    private readonly Counter<long> _lookupIdsRequested, _lookupIdsFound, _lookupIdsDenied;
    private readonly Histogram<int> _auditBatchSize;
    private readonly Histogram<double> _auditCommitDuration;
    private readonly Counter<long> _auditFailures;
    private readonly Histogram<double> _liteLlmDuration;
    private readonly Counter<long> _liteLlmFailures;
    private readonly Histogram<double> _reconcileDuration, _driftCheckDuration;
    private readonly Counter<long> _rotationsStarted, _keysRotated, _keysFailed;
    private readonly Counter<long> _webhookDeliveries;
    private readonly Counter<long> _memoryTrims, _memoryReturned;
    private readonly Counter<long> _auditStreamDelivered, _auditStreamFailures;
    private long _auditStreamLag = -1;
    private readonly ObservableGauge<long> _syncUsers;
    private Func<int>? _auditQueueDepth;
    private long _syncPending, _syncError, _syncConflict;

    public MamaMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(Name);
        _lookupIdsRequested = Meter.CreateCounter<long>("mama.lookup.ids.requested", "{id}", "User IDs asked for by key lookups.");
        _lookupIdsFound = Meter.CreateCounter<long>("mama.lookup.ids.found", "{id}", "User IDs whose key a lookup returned.");
        _lookupIdsDenied = Meter.CreateCounter<long>("mama.lookup.ids.denied", "{id}", "User IDs a lookup refused to a service-scoped client.");

        Meter.CreateObservableGauge("mama.audit.queue.depth", () => _auditQueueDepth?.Invoke() ?? 0, "{event}", "Audit events waiting for the writer.");
        _auditBatchSize = Meter.CreateHistogram("mama.audit.batch.size", "{event}", "Audit events committed in one transaction (group commit).",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = BatchBuckets });
        _auditCommitDuration = Seconds("mama.audit.commit.duration", "Time to insert and commit one batch of audit events.");
        _auditFailures = Meter.CreateCounter<long>("mama.audit.failures", "{event}", "Audit events that could not be written.");

        _syncUsers = Meter.CreateObservableGauge("mama.sync.users", ObserveSync, "{user}", "Users not in sync with the proxy, by state; refreshed each reconcile cycle.");
        _liteLlmDuration = Seconds("mama.litellm.request.duration", "Calls to the LiteLLM admin API, by endpoint and status.");
        _liteLlmFailures = Meter.CreateCounter<long>("mama.litellm.request.failures", "{request}", "Calls to LiteLLM that got no answer or a 5xx/429.");
        _reconcileDuration = Seconds("mama.reconcile.duration", "One reconcile cycle (retry what is due, drift check if due).");
        _driftCheckDuration = Seconds("mama.drift_check.duration", "One drift check: the proxy's mama keys compared with the database.");

        _rotationsStarted = Meter.CreateCounter<long>("mama.rotation.started", "{rotation}", "Key rotations started.");
        _keysRotated = Meter.CreateCounter<long>("mama.rotation.keys.rotated", "{key}", "Keys a rotation made current.");
        _keysFailed = Meter.CreateCounter<long>("mama.rotation.keys.failed", "{key}", "Keys whose rotation failed for good.");

        _webhookDeliveries = Meter.CreateCounter<long>("mama.webhook.deliveries", "{delivery}", "Webhook delivery attempts, by outcome and status.");

        _memoryTrims = Meter.CreateCounter<long>("mama.memory.trims", "{collection}", "Aggressive collections run at rest after a burst (Mama:Memory:TrimWhenIdle).");
        _memoryReturned = Meter.CreateCounter<long>("mama.memory.returned", "By", "GC memory those collections gave back to the operating system.");

        Meter.CreateObservableGauge("mama.audit.stream.lag", ObserveAuditStreamLag, "{event}", "Audit events not yet delivered to the SIEM stream (the chain's head minus the stream's cursor).");
        _auditStreamDelivered = Meter.CreateCounter<long>("mama.audit.stream.delivered", "{event}", "Audit events the SIEM stream delivered (acknowledged with a 2xx).");
        _auditStreamFailures = Meter.CreateCounter<long>("mama.audit.stream.failures", "{batch}", "Audit stream batches that failed and will be sent again.");
    }

    public Meter Meter { get; }

    public void LookupAnswered(int requested, int found, int denied)
    {
        _lookupIdsRequested.Add(requested);
        if (found > 0) _lookupIdsFound.Add(found);
        if (denied > 0) _lookupIdsDenied.Add(denied);
    }

    public void ObserveAuditQueue(Func<int> depth) => _auditQueueDepth = depth;

    public void AuditCommitted(int events, TimeSpan took)
    {
        _auditBatchSize.Record(events);
        _auditCommitDuration.Record(took.TotalSeconds);
    }

    public void AuditFailed(int events) => _auditFailures.Add(events);

    /// <summary>Whether anything reads the sync gauge, so the reconciler counts only for a listener.</summary>
    public bool WantsSyncBacklog => _syncUsers.Enabled;

    public void SyncBacklog(long pending, long error, long conflict)
    {
        Interlocked.Exchange(ref _syncPending, pending);
        Interlocked.Exchange(ref _syncError, error);
        Interlocked.Exchange(ref _syncConflict, conflict);
    }

    /// <param name="endpoint">A constant path such as <c>key/info</c>, never one with a query.</param>
    /// <param name="status">The proxy's status, or null when it did not answer (<paramref name="error"/> says why).</param>
    public void LiteLlmCalled(string endpoint, int? status, string? error, TimeSpan took)
    {
        var tags = new TagList { { "mama.litellm.endpoint", endpoint } };
        if (status is { } s) tags.Add("http.response.status_code", Boxed(s));
        if (error is not null) tags.Add("error.type", error);
        _liteLlmDuration.Record(took.TotalSeconds, tags);
        if (error is not null) _liteLlmFailures.Add(1, new KeyValuePair<string, object?>("mama.litellm.endpoint", endpoint), new KeyValuePair<string, object?>("error.type", error));
    }

    public void ReconcileCycle(TimeSpan took) => _reconcileDuration.Record(took.TotalSeconds);

    public void DriftCheck(TimeSpan took) => _driftCheckDuration.Record(took.TotalSeconds);

    public void RotationStarted(string trigger) => _rotationsStarted.Add(1, new KeyValuePair<string, object?>("mama.rotation.trigger", trigger));

    public void KeyRotated() => _keysRotated.Add(1);

    public void KeyRotationFailed() => _keysFailed.Add(1);

    public void MemoryTrimmed(long returnedBytes)
    {
        _memoryTrims.Add(1);
        if (returnedBytes > 0) _memoryReturned.Add(returnedBytes);
    }

    /// <param name="outcome"><c>delivered</c>, <c>retrying</c> or <c>failed</c> (gave up).</param>
    public void WebhookDelivery(string outcome, int? status)
    {
        var tags = new TagList { { "mama.webhook.outcome", outcome } };
        if (status is { } s) tags.Add("http.response.status_code", Boxed(s));
        _webhookDeliveries.Add(1, tags);
    }

    /// <summary>Events behind the chain's head, as this instance last saw it (the lease holder or not); not reported while the stream is off.</summary>
    public void AuditStreamLag(long events) => Interlocked.Exchange(ref _auditStreamLag, Math.Max(events, 0));

    public void AuditStreamDelivered(int events) => _auditStreamDelivered.Add(events);

    public void AuditStreamFailed(int? status)
    {
        var tags = new TagList();
        if (status is { } s) tags.Add("http.response.status_code", Boxed(s));
        _auditStreamFailures.Add(1, tags);
    }

    private IEnumerable<Measurement<long>> ObserveAuditStreamLag()
    {
        var lag = Interlocked.Read(ref _auditStreamLag);
        return lag < 0 ? [] : [new Measurement<long>(lag)];
    }

    private Measurement<long>[] ObserveSync() =>
    [
        new(Interlocked.Read(ref _syncPending), new KeyValuePair<string, object?>("mama.sync.state", "pending")),
        new(Interlocked.Read(ref _syncError), new KeyValuePair<string, object?>("mama.sync.state", "error")),
        new(Interlocked.Read(ref _syncConflict), new KeyValuePair<string, object?>("mama.sync.state", "conflict")),
    ];

    private Histogram<double> Seconds(string name, string description) =>
        Meter.CreateHistogram(name, "s", description, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    private static object Boxed(int status) => status >= 0 && status < StatusCodes.Length ? StatusCodes[status] : status;
}

/// <summary>Status codes as tag strings without formatting one per call.</summary>
internal static class StatusNames
{
    private static readonly string[] Names = Enumerable.Range(0, 600).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static string Of(int status) => status >= 0 && status < Names.Length ? Names[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
