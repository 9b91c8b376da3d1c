using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.Rotation;

/// <summary>
/// How many items of one rotation are in each state, read with one grouped count: the progress endpoint and the
/// "rotation finished" log line read the same numbers, so they agree on what is still under way.
/// </summary>
internal sealed record RotationCounts(int Pending, int Live, int Revoked, int Failed, int Skipped)
{
    /// <summary>No new key waits to go live: every item was swapped, failed or skipped (the log line's moment).</summary>
    public bool Swapped => Pending == 0;

    /// <summary>Complete: nothing pending or failed, and every replaced key is revoked (the progress endpoint's <c>finished</c>).</summary>
    public bool Finished => Pending == 0 && Live == 0 && Failed == 0;

    public static Task<bool> AnyPendingAsync(MamaDbContext db, string rotationId, CancellationToken ct) =>
        db.KeyRotationItems.AnyAsync(i => i.RotationId == rotationId && i.State == RotationItemStates.Pending, ct);

    public static async Task<RotationCounts> ForAsync(MamaDbContext db, string rotationId, CancellationToken ct)
    {
        var counts = await db.KeyRotationItems.Where(i => i.RotationId == rotationId).GroupBy(i => i.State)
            .Select(g => new { State = g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.State, g => g.Count, ct);
        int Count(string state) => counts.GetValueOrDefault(state);
        return new RotationCounts(Count(RotationItemStates.Pending), Count(RotationItemStates.Live), Count(RotationItemStates.Revoked),
            Count(RotationItemStates.Failed), Count(RotationItemStates.Skipped));
    }
}
