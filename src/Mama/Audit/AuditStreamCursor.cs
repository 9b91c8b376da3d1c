using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.Audit;

/// <summary>The one row that says how far the audit stream has delivered: every event up to <see cref="Seq"/> was acknowledged.</summary>
public sealed class AuditStreamCursor
{
    public const int RowId = 1;
    public int Id { get; set; } = RowId;
    public long Seq { get; set; }
    /// <summary>When the cursor last moved; null while the stream has never run (so <c>StartAt</c> still applies).</summary>
    public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>
    /// The last Seq the stream delivered, or null when the stream is off: what retention may delete up to. A stream
    /// that is on but has not delivered yet answers 0, so nothing undelivered is ever purged.
    /// </summary>
    public static async Task<long?> DeliveredThroughAsync(MamaDbContext db, AuditStreamOptions options, CancellationToken ct) =>
        options.Enabled ? await db.AuditStreamCursor.AsNoTracking().Where(c => c.Id == RowId).Select(c => c.Seq).SingleAsync(ct) : null;
}
