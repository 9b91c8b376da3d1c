using System.Net;
using Mama.ApiClients;
using Mama.Data;
using Mama.LiteLlmEmulator;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>What the rotation tests share: starting one, reading its progress, and what the proxy and lookups hold per user.</summary>
public static class RotationTestKit
{
    public static async Task<RotateResponse> RotateAsync(this HttpClient admin, object body) =>
        await (await admin.PostJsonAsync("/api/v1/users/rotate", body)).ReadAsync<RotateResponse>(HttpStatusCode.Accepted);

    public static async Task<RotationProgress> ProgressAsync(this HttpClient admin, string rotationId) =>
        await (await admin.GetAsync($"/api/v1/rotations/{rotationId}")).ReadAsync<RotationProgress>();

    public static Task UntilAsync(this HttpClient admin, string rotationId, Func<RotationProgress, bool> condition, string because, int seconds = 60) =>
        MamaApp.EventuallyAsync(async () => condition(await admin.ProgressAsync(rotationId)), because, TimeSpan.FromSeconds(seconds));

    public static async Task<LookedUpUser> LookupAsync(this HttpClient lookups, string userId) =>
        await (await lookups.GetAsync($"/api/v1/keys/{Uri.EscapeDataString(userId)}")).ReadAsync<LookedUpUser>();

    /// <summary>The user's keys on the proxy: under its alias, or marked as its replaced key.</summary>
    public static List<EmulatedKey> KeysOf(this EmulatorControl proxy, string userId) =>
        proxy.GetKeys().Where(k => k.KeyAlias == userId || k.Metadata["mama_previous_of"]?.GetValue<string>() == userId).ToList();

    /// <summary>The rotation's audit events of these users; none may hold a key.</summary>
    public static async Task<List<Mama.Audit.AuditEvent>> RotationEventsAsync(this MamaDbContext db, IEnumerable<string> userIds)
    {
        var needles = userIds.Select(id => " " + id + " ").ToList();
        var events = await db.AuditEvents.AsNoTracking().Where(e => e.Action.StartsWith("key.rotate.")).ToListAsync();
        var mine = events.Where(e => needles.Any(n => e.UserIds.Contains(n, StringComparison.Ordinal))).ToList();
        Assert.All(mine, e => Assert.DoesNotContain("sk-", e.Detail + e.Reason, StringComparison.Ordinal));
        return mine;
    }

    /// <summary>
    /// Ends the users' grace windows now instead of waiting them out (the rotation tests use windows of an hour, so that no
    /// assertion made during a window can race its end on a loaded machine).
    /// </summary>
    public static async Task EndGraceAsync(this MamaDbContext db, IReadOnlyCollection<string> userIds)
    {
        var past = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.Equal(userIds.Count, await db.KeyUsers.Where(u => userIds.Contains(u.UserId) && u.PreviousKeyHash != null)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.PreviousKeyExpiresAt, past)));
    }
}
