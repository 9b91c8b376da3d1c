using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Mama.Admins;
using Mama.Components;
using Mama.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Sessions;

/// <summary>
/// UI sessions: started at sign-in, checked on every request and UI action, ended by sign-out, a password change
/// or reset, account deletion, idleness or age. Rows are cached here for at most <see cref="RecheckAfter"/>, so an
/// ending on another instance is noticed within that; an ending on this instance is noticed at once.
/// </summary>
public sealed class SessionService(IDbContextFactory<MamaDbContext> dbFactory, IOptions<UiOptions> options, TimeProvider clock)
{
    public const string Claim = "mama_sid";
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxTouchInterval = TimeSpan.FromSeconds(30);
    /// <summary>How long a session's row is kept after it could last have worked, for whoever investigates.</summary>
    public static readonly TimeSpan KeepEnded = TimeSpan.FromDays(30);

    private readonly ConcurrentDictionary<string, Known> _known = new(StringComparer.Ordinal);
    private long _nextPruneTicks;

    public static string? IdOf(ClaimsPrincipal user) => user.FindFirstValue(Claim);

    /// <summary>Signs the account in to the UI with a new session; the cookie ends with the session's absolute lifetime.</summary>
    public async Task SignInAsync(SignInManager<AdminAccount> signIn, AdminAccount account, CancellationToken ct = default)
    {
        var id = await StartAsync(account.Id, ct);
        // No sliding renewal: activity extends the session's idle deadline (in the row), never the cookie's lifetime.
        await signIn.SignInWithClaimsAsync(account, new AuthenticationProperties { IsPersistent = false, AllowRefresh = false }, [new Claim(Claim, id)]);
    }

    public async Task<string> StartAsync(string accountId, CancellationToken ct = default)
    {
        var id = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var now = clock.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.UiSessions.Add(new UiSessionRecord { Id = id, AccountId = accountId, CreatedAt = now, LastSeenAt = now });
        await db.SaveChangesAsync(ct);
        // Sign-ins are rare and the table small: the place to forget sessions nobody can use any more.
        var forgetBefore = now - options.Value.AbsoluteLifetime - KeepEnded;
        await db.UiSessions.Where(s => s.CreatedAt < forgetBefore).ExecuteDeleteAsync(ct);
        _known[id] = new Known(accountId, now, now, null, now);
        return id;
    }

    /// <summary>Null while the session works, otherwise why it ended. <paramref name="activity"/> (a request, an action) keeps it from idling out.</summary>
    public async Task<string?> EndReasonAsync(string? sessionId, bool activity, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(sessionId)) return SessionEndReasons.Ended;
        var now = clock.GetUtcNow();
        Prune(now);
        if (!_known.TryGetValue(sessionId, out var known) || now - known.ReadAt >= RecheckAfter)
            known = await ReadAsync(sessionId, now, ct);
        if (known.EndReason is not null) return known.EndReason;

        var ui = options.Value;
        if (now - known.CreatedAt >= ui.AbsoluteLifetime || now - known.LastSeenAt >= ui.IdleTimeout)
        {
            known = await ExpireAsync(sessionId, now, ct);
            if (known.EndReason is not null) return known.EndReason;
        }
        if (activity && now - known.LastSeenAt >= TouchInterval(ui))
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            await db.UiSessions.Where(s => s.Id == sessionId && s.EndedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.LastSeenAt, now), ct);
            _known.TryUpdate(sessionId, known with { LastSeenAt = now }, known);
        }
        return null;
    }

    /// <summary>Ends one session (a sign-out); the other sessions of the same account go on.</summary>
    public async Task EndAsync(string? sessionId, string reason, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(sessionId)) return;
        var now = clock.GetUtcNow();
        MarkEnded(sessionId, reason, now);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await db.UiSessions.Where(s => s.Id == sessionId && s.EndedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now).SetProperty(s => s.EndReason, reason), ct);
    }

    /// <summary>Ends every session of an account (its password changed, or it was deleted).</summary>
    public async Task EndAllAsync(string accountId, string reason, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        foreach (var (id, known) in _known)
            if (known.AccountId == accountId) MarkEnded(id, reason, now);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var open = db.UiSessions.Where(s => s.AccountId == accountId && s.EndedAt == null);
        var ids = await open.Select(s => s.Id).ToListAsync(ct);
        await open.ExecuteUpdateAsync(u => u.SetProperty(s => s.EndedAt, now).SetProperty(s => s.EndReason, reason), ct);
        foreach (var id in ids) MarkEnded(id, reason, now);
    }

    /// <summary>Activity is written at most this often per session, so a busy admin costs few writes.</summary>
    private static TimeSpan TouchInterval(UiOptions ui) => ui.IdleTimeout / 10 < MaxTouchInterval ? ui.IdleTimeout / 10 : MaxTouchInterval;

    /// <summary>Ends an idle or too old session, unless another instance saw activity since this one read the row.</summary>
    private async Task<Known> ExpireAsync(string sessionId, DateTimeOffset now, CancellationToken ct)
    {
        var ui = options.Value;
        var bornBefore = now - ui.AbsoluteLifetime;
        var idleSince = now - ui.IdleTimeout;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await db.UiSessions.Where(s => s.Id == sessionId && s.EndedAt == null && (s.CreatedAt <= bornBefore || s.LastSeenAt <= idleSince))
                .ExecuteUpdateAsync(u => u
                    .SetProperty(s => s.EndedAt, now)
                    .SetProperty(s => s.EndReason, s => s.CreatedAt <= bornBefore ? SessionEndReasons.Expired : SessionEndReasons.Idle), ct);
        }
        return await ReadAsync(sessionId, now, ct);
    }

    private async Task<Known> ReadAsync(string sessionId, DateTimeOffset now, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.UiSessions.AsNoTracking().Where(s => s.Id == sessionId)
            .Select(s => new { s.AccountId, s.CreatedAt, s.LastSeenAt, s.EndedAt, s.EndReason }).FirstOrDefaultAsync(ct);
        var known = row is null
            ? new Known("", now, now, SessionEndReasons.Ended, now)
            : new Known(row.AccountId, row.CreatedAt, row.LastSeenAt, row.EndedAt is null ? null : row.EndReason ?? SessionEndReasons.Ended, now);
        // An ending noted here while the row was being read is final: never replace it with an older view.
        return _known.AddOrUpdate(sessionId, known, (_, old) => old.EndReason is not null ? old : known);
    }

    private void MarkEnded(string sessionId, string reason, DateTimeOffset now) =>
        _known.AddOrUpdate(sessionId, _ => new Known("", now, now, reason, now), (_, old) => old.EndReason is not null ? old : old with { EndReason = reason });

    /// <summary>Forgets what was not looked at for a minute, so the cache holds only sessions in use.</summary>
    private void Prune(DateTimeOffset now)
    {
        var next = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextPruneTicks, (now + TimeSpan.FromMinutes(1)).UtcTicks, next) != next) return;
        foreach (var (id, known) in _known)
            if (now - known.ReadAt > TimeSpan.FromMinutes(1)) _known.TryRemove(id, out _);
    }

    private sealed record Known(string AccountId, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, string? EndReason, DateTimeOffset ReadAt);
}
