using System.Collections.Concurrent;
using Mama.Audit;

namespace Mama.Security;

/// <summary>
/// Audits requests refused with 401, at most one event per client address per second so that a flood cannot fill
/// the disk; the next event written for an address carries how many were suppressed since the last one.
/// Records the path and the scheme that failed, never the credential.
/// </summary>
public sealed class UnauthenticatedAudit(AuditLog audit, TimeProvider clock)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private const int MaxTracked = 10_000;
    private readonly ConcurrentDictionary<string, Window> _byAddress = new();

    public async Task RecordAsync(HttpContext http, string scheme, bool credentialsGiven)
    {
        var actor = Actor.From(http);
        var now = clock.GetUtcNow();
        if (_byAddress.Count > MaxTracked) Prune(now);
        var window = _byAddress.GetOrAdd(ClientAddress.Key(http.Connection.RemoteIpAddress), _ => new Window());
        int suppressed;
        lock (window)
        {
            if (now - window.LastWritten < Interval)
            {
                window.Suppressed++;
                return;
            }
            suppressed = window.Suppressed;
            window.Suppressed = 0;
            window.LastWritten = now;
        }
        try
        {
            // Written whether or not the client waits for its 401: a client that hangs up must not erase the flood.
            await audit.WriteAsync(new AuditEntry(actor, "auth.unauthenticated", AuditResult.Denied, 401,
                Detail: new { method = http.Request.Method, path = http.Request.Path.Value, scheme, suppressed },
                Reason: credentialsGiven ? "invalid credentials" : "no credentials"), CancellationToken.None);
        }
        catch
        {
            // Not written: this refusal and those it carried go to the next event instead of being lost.
            lock (window)
            {
                window.Suppressed += suppressed + 1;
                window.LastWritten = DateTimeOffset.MinValue;
            }
            throw;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (address, window) in _byAddress)
            if (now - window.LastWritten > Interval && window.Suppressed == 0) _byAddress.TryRemove(address, out _);
    }

    private sealed class Window
    {
        public DateTimeOffset LastWritten { get; set; } = DateTimeOffset.MinValue;
        public int Suppressed { get; set; }
    }
}
