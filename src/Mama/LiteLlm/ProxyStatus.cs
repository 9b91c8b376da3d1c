using System.Text.RegularExpressions;
using Mama.Data;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

/// <param name="Reachable">Whether <c>/health/readiness</c> answered just now.</param>
/// <param name="Version">The proxy's <c>litellm_version</c>, when it answered.</param>
/// <param name="Database">The proxy's own database as it reports it (<c>connected</c>, <c>disconnected</c>, …).</param>
/// <param name="CustomKeys">Whether the proxy accepts key values mama chooses: <c>unknown</c>, <c>accepted</c> or <c>refused</c>.</param>
/// <param name="LastSuccessAt">This instance's last successful call to the proxy's admin API.</param>
public sealed record ProxyStatusResponse(
    bool Reachable,
    string? Version,
    string? Database,
    string CustomKeys,
    DateTimeOffset? LastSuccessAt,
    SyncBacklog Backlog,
    IReadOnlyList<ProxyWarning> Warnings,
    DateTimeOffset CheckedAt);

/// <param name="LastDriftCheckAt">When the drift check last finished on any instance (null when it never ran or is off).</param>
public sealed record SyncBacklog(long Pending, long Error, long Conflict, DateTimeOffset? LastDriftCheckAt, DateTimeOffset? NextDriftCheckAt);

public readonly record struct BacklogCounts(long Pending, long Error, long Conflict);

/// <param name="Code"><c>compromised_version</c>, <c>proxy_database</c>.</param>
public sealed record ProxyWarning(string Code, string Message);

/// <summary>What mama knows about the proxy it manages, for the status card, the API and the readiness detail.</summary>
public sealed partial class ProxyStatus(
    LiteLlmClient liteLlm,
    ProxyCalls calls,
    ProxyState proxyState,
    IDbContextFactory<MamaDbContext> dbFactory,
    IOptions<LiteLlmOptions> options,
    TimeProvider clock)
{
    /// <summary>The releases of March 2026 that shipped a credential stealer on PyPI (BerriAI/litellm #24512, #24518).</summary>
    public static readonly IReadOnlyList<string> CompromisedVersions = ["1.82.7", "1.82.8"];

    private static readonly TimeSpan ReadinessCacheDuration = TimeSpan.FromSeconds(30);
    private volatile ReadinessSnapshot? _readiness;

    private sealed record ReadinessSnapshot(LiteLlmReadiness? Readiness, DateTimeOffset At);

    public async Task<ProxyStatusResponse> GetAsync(CancellationToken ct)
    {
        var readiness = await ReadinessAsync(fresh: true, ct);
        var warnings = new List<ProxyWarning>();
        if (CompromisedWarning(readiness?.LitellmVersion) is { } compromised) warnings.Add(compromised);
        if (readiness?.Db is { } db && !string.Equals(db, "connected", StringComparison.OrdinalIgnoreCase))
            warnings.Add(new ProxyWarning("proxy_database", $"The proxy reports its database as \"{db}\": keys cannot be created or changed until it is connected again."));
        return new ProxyStatusResponse(
            readiness is not null,
            readiness?.LitellmVersion,
            readiness?.Db,
            await proxyState.CustomKeysAsync(ct),
            calls.LastSuccessAt,
            await BacklogAsync(ct),
            warnings,
            clock.GetUtcNow());
    }

    /// <summary>The proxy's version when it is a compromised release, from a readiness answer at most half a minute old; null otherwise or when the proxy is not answering.</summary>
    public async Task<string?> CompromisedVersionAsync(CancellationToken ct) =>
        (await ReadinessAsync(fresh: false, ct))?.LitellmVersion is { } version && IsCompromised(version) ? version : null;

    public static bool IsCompromised(string? version) =>
        version is not null && ReleaseNumber().Match(version) is { Success: true } m && CompromisedVersions.Contains(m.Groups[1].Value);

    public static string CompromisedMessage(string version) =>
        $"The proxy runs LiteLLM {version}. LiteLLM 1.82.7 and 1.82.8 were published to PyPI in March 2026 with a credential stealer " +
        "that sent the proxy's secrets (master key, provider API keys, environment) to an attacker. Upgrade the proxy, rotate its master key " +
        "and provider credentials, and re-key every user, since any key the proxy held may be known.";

    private static ProxyWarning? CompromisedWarning(string? version) =>
        IsCompromised(version) ? new ProxyWarning("compromised_version", CompromisedMessage(version!)) : null;

    private async Task<LiteLlmReadiness?> ReadinessAsync(bool fresh, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (!fresh && _readiness is { } cached && now - cached.At < ReadinessCacheDuration) return cached.Readiness;
        LiteLlmReadiness? readiness;
        try
        {
            readiness = await liteLlm.GetReadinessAsync(ct);
        }
        catch (LiteLlmException)
        {
            readiness = null;
        }
        _readiness = new ReadinessSnapshot(readiness, now);
        return readiness;
    }

    private async Task<SyncBacklog> BacklogAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var counts = await CountBacklogAsync(db, ct);
        var drift = await db.JobLeases.AsNoTracking().Where(j => j.Name == JobLease.DriftCheck).Select(j => j.NextRunAt).FirstOrDefaultAsync(ct);
        var interval = options.Value.DriftCheckInterval;
        // job_leases keeps only the next run; the last one finished an interval before it.
        var last = drift is { } next && interval > TimeSpan.Zero ? next - interval : (DateTimeOffset?)null;
        return new SyncBacklog(counts.Pending, counts.Error, counts.Conflict, last, interval > TimeSpan.Zero ? drift : null);
    }

    /// <summary>The users the sync still owes work, by state: one grouped count for the status card, the gauges and the CLI.</summary>
    public static async Task<BacklogCounts> CountBacklogAsync(MamaDbContext db, CancellationToken ct)
    {
        var counts = await db.KeyUsers.AsNoTracking().Where(u => u.SyncState != SyncState.Synced).GroupBy(u => u.SyncState)
            .Select(g => new { State = g.Key, Count = g.LongCount() }).ToListAsync(ct);
        long Count(SyncState state) => counts.Where(c => c.State == state).Sum(c => c.Count);
        return new BacklogCounts(Count(SyncState.Pending), Count(SyncState.Error), Count(SyncState.Conflict));
    }

    [GeneratedRegex(@"^\s*v?(\d+\.\d+\.\d+)(?![\d])")]
    private static partial Regex ReleaseNumber();
}
