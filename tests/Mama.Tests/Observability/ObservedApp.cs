using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mama.Tests.Observability;

/// <summary>mama with <c>/metrics</c> on, logging at the default level (Information) into <see cref="Logs"/>.</summary>
public abstract class ObservedApp : MamaApp
{
    public const string MetricsToken = "test-metrics-token-0123456789";

    public CapturedLogs Logs { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Mama:Metrics:Prometheus"] = "true",
        ["Mama:Metrics:Token"] = MetricsToken,
        ["Logging:LogLevel:Default"] = "Information",
    };

    protected override void ConfigureHost(IWebHostBuilder builder) => builder.ConfigureServices(s => s.AddLogging(l => l.AddProvider(Logs)));

    public async Task<string> ScrapeAsync()
    {
        using var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", MetricsToken);
        var response = await client.GetAsync("/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}

public sealed class ObservedSqliteApp : ObservedApp
{
    protected override string Provider => "sqlite";
}

public sealed class ObservedPostgresApp : ObservedApp
{
    protected override string Provider => "postgres";
}

public sealed record LogLine(LogLevel Level, string Category, string Message);

/// <summary>Every line the host logs at or above the configured level, in order.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public int Count => _lines.Count;

    public IReadOnlyList<LogLine> Since(int mark) => _lines.Skip(mark).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new LogLine(logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

/// <summary>Sums what one host's meter records, by instrument: counters by value, histograms by how many values.</summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();

    public MetricsRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, value, _, _) => Add(i, i is Counter<long> ? value : 1));
        _listener.SetMeasurementEventCallback<int>((i, _, _, _) => Add(i, 1));
        _listener.SetMeasurementEventCallback<double>((i, _, _, _) => Add(i, 1));
        _listener.Start();
    }

    public long this[string instrument] => _sums.GetValueOrDefault(instrument);

    private void Add(Instrument instrument, long value) => _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);

    public void Dispose() => _listener.Dispose();
}
