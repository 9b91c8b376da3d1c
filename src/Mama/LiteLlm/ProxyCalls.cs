using System.Diagnostics;

namespace Mama.LiteLlm;

/// <summary>
/// When mama last had a successful answer from the proxy's admin API, for the status card, and how long the proxy
/// takes to answer, which sizes how many calls a sync keeps in flight (<see cref="InFlightFor"/>).
/// </summary>
public sealed class ProxyCalls(TimeProvider clock)
{
    /// <summary>The proxy calls a second a sync aims for: 1,000 new users a second at one call each, with twice the room.</summary>
    public const int TargetCallsPerSecond = 2000;
    /// <summary>What every sync used before the answer time sized it: mama's own database work per user keeps this many busy even against a fast proxy.</summary>
    public const int MinInFlight = 8;

    private long _lastSuccessTicks;
    private long _latencyTicks; // a moving average of answered calls; 0 until the first

    public DateTimeOffset? LastSuccessAt => Interlocked.Read(ref _lastSuccessTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>The proxy's recent answer time, or null before its first answer.</summary>
    public TimeSpan? Latency => Interlocked.Read(ref _latencyTicks) is var ticks and > 0 ? TimeSpan.FromTicks(ticks) : null;

    /// <summary>
    /// Little's law: calls in flight = calls a second × answer time, so a slow proxy gets more at once and a fast one
    /// fewer (its answers come back before more would help, and mama's own database is then the limit): 40 at 20 ms. At least
    /// <see cref="MinInFlight"/>, at most <paramref name="max"/> (<c>LiteLlm:MaxConcurrency</c>), and the most until the
    /// proxy has answered once. A failing proxy is held back by each user's backoff and the circuit breaker, not here.
    /// </summary>
    public int InFlightFor(int max) => InFlightFor(Latency, max);

    public static int InFlightFor(TimeSpan? latency, int max) => latency is not { } answer
        ? max
        : Math.Clamp((int)Math.Ceiling(answer.TotalSeconds * TargetCallsPerSecond), Math.Min(MinInFlight, max), max);

    internal void Succeeded() => Interlocked.Exchange(ref _lastSuccessTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>An answered call's time, weighted 1/8 against the ones before; races between callers lose a sample at worst.</summary>
    internal void Answered(TimeSpan elapsed)
    {
        var before = Interlocked.Read(ref _latencyTicks);
        Interlocked.Exchange(ref _latencyTicks, before == 0 ? Math.Max(elapsed.Ticks, 1) : before + (elapsed.Ticks - before) / 8);
    }

    /// <summary>
    /// Outside the resilience handler, so it sees each call's final answer. Health probes are left out: the status
    /// card probes readiness itself, and "last success" should say when keys or models were last read or written.
    /// Refusals for load (429, 5xx) are no measure of the proxy's answer time and are left out of it.
    /// </summary>
    public sealed class Handler(ProxyCalls calls) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var started = Stopwatch.GetTimestamp();
            var response = await base.SendAsync(request, ct);
            if (request.RequestUri?.AbsolutePath.Contains("/health/", StringComparison.Ordinal) == true) return response;
            if (response.IsSuccessStatusCode) calls.Succeeded();
            if ((int)response.StatusCode is not (429 or >= 500)) calls.Answered(Stopwatch.GetElapsedTime(started));
            return response;
        }
    }
}
