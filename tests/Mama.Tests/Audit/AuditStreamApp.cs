using System.Diagnostics.Metrics;
using System.Text.Json;
using Mama.Audit;
using Mama.Observability;
using Mama.Tests.Infrastructure;
using Mama.Tests.Observability;
using Mama.Tests.Webhooks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mama.Tests.Audit;

/// <summary>
/// A mama of one test's own (a fresh database, so the chain starts at 1 and the stream's cursor was never moved),
/// streaming its audit log to <paramref name="url"/> unless that is null; its stream's log lines land in <see cref="Logs"/>.
/// </summary>
public sealed class AuditStreamApp(string provider, string? url, IReadOnlyDictionary<string, string?>? extra = null) : MamaApp
{
    public static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 3)).ToArray());
    public const int BatchSize = 5;

    public CapturedLogs Logs { get; } = new();

    protected override string Provider => provider;

    protected override IReadOnlyDictionary<string, string?> Settings => Streaming(url).Concat(extra ?? new Dictionary<string, string?>())
        .ToDictionary(p => p.Key, p => p.Value);

    /// <summary>The settings that turn the stream on (or, for a null URL, leave it off).</summary>
    public static Dictionary<string, string?> Streaming(string? url) => new()
    {
        ["Mama:Audit:Stream:Url"] = url,
        ["Mama:Audit:Stream:Secret"] = url is null ? null : Secret,
        ["Mama:Audit:Stream:BatchSize"] = BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mama:Audit:Stream:PollInterval"] = "00:00:00.100",
        ["Mama:Audit:Stream:InitialBackoff"] = "00:00:00.050",
        ["Mama:Audit:Stream:MaxBackoff"] = "00:00:00.200",
        ["Mama:Audit:Stream:Timeout"] = "00:00:05",
        ["Logging:LogLevel:Mama.Audit.AuditStream"] = "Information",
    };

    protected override void ConfigureHost(IWebHostBuilder builder) => builder.ConfigureServices(s => s.AddLogging(l => l.AddProvider(Logs)));

    public static async Task<AuditStreamApp> StartAsync(string provider, string? url, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var app = new AuditStreamApp(provider, url, extra);
        await app.InitializeAsync();
        return app;
    }

    /// <summary>Writes <paramref name="count"/> audit events at once through the host's group-commit writer.</summary>
    public async Task WriteEventsAsync(int count, MamaHost? through = null)
    {
        var audit = (through ?? Host).Services.GetRequiredService<AuditLog>();
        await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            audit.WriteAsync(new AuditEntry(Actor.System with { Name = "stream-test" }, "test.stream", AuditResult.Success, 200, ["user-" + i], new { i }))));
    }

    public async Task<long> HeadAsync()
    {
        await using var db = NewDbContext();
        return await db.AuditChainHead.AsNoTracking().Select(h => h.Seq).SingleAsync();
    }

    public async Task<long> CursorAsync()
    {
        await using var db = NewDbContext();
        return await db.AuditStreamCursor.AsNoTracking().Select(c => c.Seq).SingleAsync();
    }

    /// <summary>Waits until the stream's cursor reached the chain's head as it is now.</summary>
    public async Task CaughtUpAsync(string because)
    {
        var head = await HeadAsync();
        await EventuallyAsync(async () => await CursorAsync() >= head, because);
    }

    /// <summary>The lag gauge as this host reports it now; null when it reports none.</summary>
    public long? Lag(MamaHost? host = null)
    {
        long? value = null;
        var meter = (host ?? Host).Services.GetRequiredService<MamaMetrics>().Meter;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "mama.audit.stream.lag") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, measured, _, _) => value = measured);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }
}

public static class AuditStreamReceived
{
    /// <summary>The acknowledged batches' events, in arrival order.</summary>
    public static IReadOnlyList<JsonElement> Acknowledged(this WebhookReceiver receiver) =>
        receiver.Received.Where(r => r.AnsweredWith is >= 200 and < 300).SelectMany(r => r.Lines).ToList();

    public static IReadOnlyList<long> Seqs(this IEnumerable<JsonElement> lines) => lines.Select(l => l.GetProperty("seq").GetInt64()).ToList();

    public static IReadOnlyList<long> Dense(long from, long to) => Enumerable.Range(0, (int)(to - from + 1)).Select(i => from + i).ToList();
}
