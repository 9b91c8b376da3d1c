namespace Mama.LiteLlm;

/// <summary>When mama last had a successful answer from the proxy's admin API, for the status card.</summary>
public sealed class ProxyCalls(TimeProvider clock)
{
    private long _lastSuccessTicks;

    public DateTimeOffset? LastSuccessAt => Interlocked.Read(ref _lastSuccessTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    internal void Succeeded() => Interlocked.Exchange(ref _lastSuccessTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>
    /// Outside the resilience handler, so it sees each call's final answer. Health probes are left out: the status
    /// card probes readiness itself, and "last success" should say when keys or models were last read or written.
    /// </summary>
    public sealed class Handler(ProxyCalls calls) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.IsSuccessStatusCode && request.RequestUri?.AbsolutePath.Contains("/health/", StringComparison.Ordinal) != true) calls.Succeeded();
            return response;
        }
    }
}
