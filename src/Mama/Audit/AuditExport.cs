using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace Mama.Audit;

public enum AuditExportFormat
{
    Csv,
    Jsonl,
}

/// <summary>
/// A range of the audit log written out oldest first, streamed a page at a time: CSV (the columns and formula-safe
/// fields of the audit page's export, with its byte order mark) or JSON lines with the same names. The export is
/// itself audited as one <c>audit.export</c> event saying which range, in what format and how many events.
/// </summary>
public sealed class AuditExport(AuditQueries queries, AuditLog audit)
{
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) };

    /// <summary>Writes the range to <paramref name="output"/>; <paramref name="beforeAudit"/> runs once all is written, before the success event.</summary>
    public async Task<long> WriteAsync(Stream output, DateTimeOffset from, DateTimeOffset to, AuditExportFormat format, Actor actor, Func<Task> beforeAudit, CancellationToken ct)
    {
        var count = 0L;
        var complete = false;
        var formatName = format == AuditExportFormat.Csv ? "csv" : "jsonl";
        try
        {
            // One buffer and one writer for the whole export, each emptied after every page.
            var csv = new StringBuilder();
            var buffer = new ArrayBufferWriter<byte>(64 * 1024);
            await using var json = new Utf8JsonWriter(buffer, JsonOptions);
            if (format == AuditExportFormat.Csv) await output.WriteAsync(Encoding.UTF8.GetBytes("\uFEFF" + AuditCsv.Header + "\r\n"), ct);
            await foreach (var page in queries.StreamPagesAsync(from, to, ct))
            {
                if (format == AuditExportFormat.Csv)
                {
                    csv.Clear();
                    foreach (var item in page) AuditCsv.AppendRow(csv, item);
                    await output.WriteAsync(Encoding.UTF8.GetBytes(csv.ToString()), ct);
                }
                else
                {
                    buffer.ResetWrittenCount();
                    foreach (var item in page) WriteJsonLine(json, buffer, item);
                    await output.WriteAsync(buffer.WrittenMemory, ct);
                }
                await output.FlushAsync(ct);
                count += page.Count;
            }
            await beforeAudit();
            complete = true;
        }
        finally
        {
            // Not the caller's token: how an interrupted export ended is still worth recording.
            var detail = new ExportDetail(from.UtcDateTime, to.UtcDateTime, formatName, count, complete);
            var entry = new AuditEntry(actor, "audit.export", complete ? AuditResult.Success : AuditResult.Failure, complete ? 200 : 500, null, detail,
                complete ? null : $"the export stopped after {count} events");
            if (complete) await audit.WriteAsync(entry, CancellationToken.None);
            else await TryAuditAsync(entry);
        }
        return count;
    }

    private async Task TryAuditAsync(AuditEntry entry)
    {
        try { await audit.WriteAsync(entry, CancellationToken.None); }
        catch (AuditUnavailableException) { } // the export's own failure is what gets reported
    }

    /// <summary>One event as a JSON line into <paramref name="buffer"/>; the SIEM stream adds its place in the chain (<paramref name="seq"/>, <paramref name="hash"/>).</summary>
    internal static void WriteJsonLine(Utf8JsonWriter json, ArrayBufferWriter<byte> buffer, AuditItem e, long? seq = null, string? hash = null)
    {
        json.WriteStartObject();
        json.WriteNumber("id", e.Id);
        if (seq is { } position)
        {
            json.WriteNumber("seq", position);
            json.WriteString("hash", hash);
        }
        json.WriteString("time", Time(e.At));
        json.WriteString("actor", e.Actor);
        json.WriteString("action", e.Action);
        json.WriteStartArray("user_ids");
        foreach (var id in e.UserIds) json.WriteStringValue(id);
        json.WriteEndArray();
        json.WriteString("result", e.Result);
        json.WriteNumber("status_code", e.StatusCode);
        json.WriteString("reason", e.Reason);
        json.WriteString("client_ip", e.Ip);
        json.WriteString("trace_id", e.TraceId);
        json.WritePropertyName("detail");
        e.Detail.WriteTo(json);
        json.WriteEndObject();
        json.Flush();
        buffer.Write("\n"u8);
        json.Reset();
    }

    internal static string JsonLine(AuditItem e, long? seq = null, string? hash = null)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using var json = new Utf8JsonWriter(buffer, JsonOptions);
        WriteJsonLine(json, buffer, e, seq, hash);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private sealed record ExportDetail(DateTime From, DateTime To, string Format, long Count, bool Complete);
}
