using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <summary>What mama has learned about the proxy, one row (Id = 1) in <c>litellm_proxy_state</c>, shared by all instances.</summary>
public sealed class ProxyStateRow
{
    public const int SingleId = 1;

    public int Id { get; set; } = SingleId;
    /// <summary><see cref="ProxyState.Unknown"/>, <see cref="ProxyState.Accepted"/> or <see cref="ProxyState.Refused"/>.</summary>
    public string CustomKeys { get; set; } = ProxyState.Unknown;
    public DateTimeOffset? CustomKeysCheckedAt { get; set; }
    /// <summary>The proxy's refusal, redacted: why mama lets the proxy mint keys.</summary>
    public string? CustomKeysReason { get; set; }
}

/// <summary>
/// Whether the proxy accepts key values mama chooses. Learned from the first <c>/key/generate</c> (a refusal switches
/// mama to proxy-minted keys), remembered in the database so that later users, and other instances, mint directly.
/// "refused" is sticky: minting works on any proxy, so nothing is gained by trying custom keys again.
/// </summary>
public sealed class ProxyState(IDbContextFactory<MamaDbContext> dbFactory, TimeProvider clock)
{
    public const string Unknown = "unknown";
    public const string Accepted = "accepted";
    public const string Refused = "refused";

    /// <summary>Another instance may learn the mode; an instance that has not yet sees it within this long.</summary>
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(10);

    private volatile Cached? _cached;

    public async Task<string> CustomKeysAsync(CancellationToken ct)
    {
        if (_cached is { } cached && (cached.Mode == Refused || clock.GetUtcNow() - cached.ReadAt < Freshness)) return cached.Mode;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var mode = await db.ProxyState.AsNoTracking().Where(s => s.Id == ProxyStateRow.SingleId).Select(s => s.CustomKeys).SingleOrDefaultAsync(ct) ?? Unknown;
        _cached = new Cached(mode, clock.GetUtcNow());
        return mode;
    }

    /// <summary>Records the mode; "accepted" never overwrites "refused" (an instance that still had a custom key accepted is behind).</summary>
    public async Task SetCustomKeysAsync(string mode, string? reason, CancellationToken ct)
    {
        if (mode is not (Unknown or Accepted or Refused)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown, accepted or refused");
        var now = clock.GetUtcNow();
        reason = reason is null ? null : LiteLlmClient.Redact(reason.Length > 500 ? reason[..500] : reason);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // The row is seeded by the migration, so this is one conditional update on every provider.
        await db.ProxyState.Where(s => s.Id == ProxyStateRow.SingleId && (mode != Accepted || s.CustomKeys != Refused))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.CustomKeys, mode).SetProperty(r => r.CustomKeysCheckedAt, now).SetProperty(r => r.CustomKeysReason, reason), ct);
        _cached = null;
    }

    private sealed record Cached(string Mode, DateTimeOffset ReadAt);
}
