using System.Runtime.CompilerServices;
using System.Text.Json;
using Mama.Data;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.Audit;

/// <summary>Reads the audit log for the API and the UI.</summary>
public sealed class AuditQueries(IDbContextFactory<MamaDbContext> dbFactory)
{
    public const int MaxPageSize = 500;

    public async Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var paging = Paging.Check(query.Page, query.PageSize, MaxPageSize, errors);
        var (page, pageSize) = paging;
        AuditResult? result = null;
        if (query.Result is { Length: > 0 } r)
        {
            if (Enum.TryParse<AuditResult>(r, ignoreCase: true, out var parsed) && !int.TryParse(r, out _)) result = parsed;
            else errors["result"] = ["Must be success, failure or denied."];
        }
        if (query.From > query.To) errors["from"] = ["Must not be after 'to'."];
        var userId = Users.UserValidation.NormalizeUserId(query.UserId);
        if (userId is { Length: > 0 } && Users.UserValidation.CheckUserId(userId) is { } idError) errors["user_id"] = [idError];
        if (errors.Count > 0) throw ProblemException.Validation(errors);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var events = db.AuditEvents.AsNoTracking();
        if (query.AsOfId is { } asOf) events = events.Where(e => e.Id <= asOf);
        if (!string.IsNullOrEmpty(query.Actor)) events = events.Where(e => e.Actor == query.Actor);
        if (!string.IsNullOrEmpty(query.Action)) events = events.Where(e => e.Action == query.Action);
        if (result is { } res) events = events.Where(e => e.Result == res);
        if (query.From is { } from) events = events.Where(e => e.At >= from);
        if (query.To is { } to) events = events.Where(e => e.At <= to);
        if (!string.IsNullOrEmpty(userId))
        {
            var needle = AuditEvent.UserIdNeedle(userId);
            events = events.Where(e => e.UserIds.Contains(needle));
        }

        var total = await events.CountAsync(ct);
        var rows = await events.OrderByDescending(e => e.Id)
            .Skip(paging.Offset).Take(pageSize).ToListAsync(ct);
        var items = rows.Select(ToItem).ToList();
        return new AuditPage(items, total, page, pageSize, query.AsOfId ?? (items.Count > 0 && page == 1 ? items[0].Id : null));
    }

    /// <summary>
    /// Every event from <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive), oldest first, a page at a
    /// time by id (keyset), pinned to the newest id at the start so events written meanwhile never join the range.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<AuditItem>> StreamPagesAsync(DateTimeOffset from, DateTimeOffset to, [EnumeratorCancellation] CancellationToken ct)
    {
        long? asOf;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            asOf = await db.AuditEvents.MaxAsync(e => (long?)e.Id, ct);
        if (asOf is null) yield break;
        var after = 0L;
        while (true)
        {
            List<AuditEvent> rows;
            await using (var db = await dbFactory.CreateDbContextAsync(ct))
                rows = await db.AuditEvents.AsNoTracking()
                    .Where(e => e.Id > after && e.Id <= asOf && e.At >= from && e.At < to)
                    .OrderBy(e => e.Id).Take(MaxPageSize).ToListAsync(ct);
            if (rows.Count > 0) yield return rows.Select(ToItem).ToList();
            if (rows.Count < MaxPageSize) yield break;
            after = rows[^1].Id;
        }
    }

    internal static AuditItem ToItem(AuditEvent e) => new(
        e.Id, e.At, e.Actor, e.Action,
        AuditEvent.SplitUserIds(e.UserIds),
        JsonDocument.Parse(e.Detail).RootElement.Clone(),
        JsonNamingPolicyResult(e.Result), e.StatusCode, e.Reason, e.Ip, e.TraceId);

    private static string JsonNamingPolicyResult(AuditResult result) => result.ToString().ToLowerInvariant();
}
