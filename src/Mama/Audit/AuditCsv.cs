using System.Globalization;
using System.Text;

namespace Mama.Audit;

/// <summary>The audit log as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when they need it).</summary>
public static class AuditCsv
{
    public const string Header = "id,time,actor,action,user_ids,result,status_code,reason,client_ip,trace_id,detail";

    public sealed record Export(string Text, int Rows, bool Truncated);

    /// <summary>Every event that matches the filter, newest first, pinned to one snapshot so that paging never skips or repeats a row.</summary>
    public static async Task<Export> ExportAsync(AuditQueries queries, AuditQuery filter, int maxRows, CancellationToken ct)
    {
        var csv = new StringBuilder(Header).Append("\r\n");
        var rows = 0;
        var query = filter with { Page = 1, PageSize = AuditQueries.MaxPageSize };
        while (true)
        {
            var page = await queries.QueryAsync(query, ct);
            foreach (var item in page.Items.Take(maxRows - rows)) AppendRow(csv, item);
            rows += Math.Min(page.Items.Count, maxRows - rows);
            var more = (long)page.Page * page.PageSize < page.Total;
            if (!more || page.Items.Count == 0) return new Export(csv.ToString(), rows, false);
            if (rows >= maxRows) return new Export(csv.ToString(), rows, true);
            query = query with { Page = page.Page + 1, AsOfId = page.AsOfId };
        }
    }

    /// <summary>One event as a CSV line, CRLF included, appended field by field.</summary>
    public static void AppendRow(StringBuilder csv, AuditItem e)
    {
        csv.Append(e.Id.ToString(CultureInfo.InvariantCulture)).Append(',')
            .Append(e.At.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)).Append(',')
            .Append(Field(e.Actor)).Append(',')
            .Append(Field(e.Action)).Append(',')
            .Append(Field(string.Join(';', e.UserIds))).Append(',') // user IDs may hold spaces, never ';'
            .Append(Field(e.Result)).Append(',')
            .Append(e.StatusCode.ToString(CultureInfo.InvariantCulture)).Append(',')
            .Append(Field(e.Reason ?? "")).Append(',')
            .Append(Field(e.Ip ?? "")).Append(',')
            .Append(Field(e.TraceId ?? "")).Append(',')
            .Append(Field(e.Detail.GetRawText())).Append("\r\n");
    }

    public static string Field(string value) => Components.Shared.Csv.Field(value);
}
