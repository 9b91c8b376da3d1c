using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Mama.Audit;
using Mama.Components.Shared;

namespace Mama.Users;

public enum UserExportFormat
{
    Csv,
    Jsonl,
}

/// <param name="IncludeKeys">Adds each user's decrypted key: a key disclosure of every user exported.</param>
public sealed record UserExportQuery(string? Search, string? Organization, string? Model, string? Service, string? Sync, string? Format, bool IncludeKeys, string? Rotation = null,
    bool UnavailableModels = false);

/// <param name="Key">Null unless keys were asked for, and then only when the stored key does not decrypt.</param>
public sealed record UserExportRow(string UserId, string Organization, IReadOnlyList<string> AllowedModels, IReadOnlyList<string> AllowedServices, string ExtraInfo,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string SyncState, string? Key, DateTimeOffset? ExpiresAt = null);

/// <summary>
/// One export in progress: the batch read and audited last, and how much of it went out. Each batch is audited
/// before it is sent, so a key never leaves without its event; a client that disconnects leaves events for at most
/// the one batch it was being sent when it left, plus a <c>user.export</c> event saying how many rows were sent.
/// </summary>
public sealed class UserExport(UserService service, UserExportQuery query, UserExportFormat format, SyncState? sync, Actor actor, DateTimeOffset startedAt)
{
    private bool _finished;

    public UserExportQuery Query { get; } = query;
    public UserExportFormat Format { get; } = format;
    public SyncState? Sync { get; } = sync;
    public Actor Actor { get; } = actor;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public IReadOnlyList<UserExportRow> Batch { get; private set; } = [];
    public int Batches { get; private set; }
    public long RowsAudited { get; private set; }
    public long RowsSent { get; private set; }
    internal long LastId { get; set; }
    /// <summary>The names the proxy served when the export started, for <c>unavailable_models</c>; read once so every batch asks the same.</summary>
    internal IReadOnlyList<string>? KnownModels { get; init; }

    /// <summary>Reads and audits the next batch; false when no user is left.</summary>
    public async Task<bool> NextAsync(CancellationToken ct)
    {
        Batch = [];
        if (_finished) return false;
        var rows = await service.ReadExportBatchAsync(this, LastId, ct);
        _finished = rows.Count < UserService.ExportBatchSize;
        if (rows.Count == 0) return false;
        Batches++;
        await service.AuditExportBatchAsync(this, rows, ct);
        RowsAudited += rows.Count;
        Batch = rows;
        return true;
    }

    public void BatchSent() => RowsSent += Batch.Count;

    public Task EndAsync(bool complete) => service.AuditExportEndAsync(this, complete);

    public string FileName => $"mama-users{(Query.IncludeKeys ? "-with-keys" : "")}-{StartedAt.UtcDateTime:yyyyMMdd-HHmmss}.{Format.Name()}";
}

public static class UserExportFormats
{
    public static string Name(this UserExportFormat format) => format == UserExportFormat.Jsonl ? "jsonl" : "csv";

    public static string ContentType(this UserExportFormat format) => format == UserExportFormat.Jsonl ? "application/jsonl; charset=utf-8" : "text/csv; charset=utf-8";
}

/// <summary>
/// Streams an export: a batch is encoded, written and flushed before the next is read, so memory stays flat
/// whatever the number of users. CSV starts with a UTF-8 byte order mark, without which Excel reads it in the
/// machine's legacy code page and garbles Hangul; JSON lines have none (RFC 8259 forbids it).
/// </summary>
public sealed class UserExportResult(UserExport export) : IResult
{
    /// <summary>As the Add users paste reads them: user ID, organisation, models, services, extra info, then the key it would keep.</summary>
    private static readonly string[] CsvHeader = ["user_id", "organization", "allowed_models", "allowed_services", "extra_info"];
    // expires_at last: files written before it existed keep their column positions.
    private static readonly string[] CsvTrailer = ["created_at", "updated_at", "sync_state", "expires_at"];

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All), SkipValidation = true };

    public async Task ExecuteAsync(HttpContext http)
    {
        var response = http.Response;
        response.ContentType = export.Format.ContentType();
        response.Headers.ContentDisposition = $"attachment; filename=\"{export.FileName}\"";
        response.Headers.CacheControl = "no-store";
        await WriteToAsync(response.Body, () => Task.CompletedTask, http.RequestAborted);
    }

    /// <summary>The export's bytes, for the HTTP response and the CLI alike; <paramref name="beforeEnd"/> runs once all is written, before the summary event.</summary>
    public async Task WriteToAsync(Stream body, Func<Task> beforeEnd, CancellationToken ct)
    {
        var complete = false;
        try
        {
            if (export.Format == UserExportFormat.Csv)
            {
                string[] header = [.. CsvHeader, .. export.Query.IncludeKeys ? ["key"] : Array.Empty<string>(), .. CsvTrailer];
                await body.WriteAsync(Encoding.UTF8.GetBytes("\uFEFF" + string.Join(',', header) + "\r\n"), ct);
            }
            do
            {
                await body.WriteAsync(Encode(export.Batch), ct);
                await body.FlushAsync(ct);
                export.BatchSent();
            }
            while (await export.NextAsync(ct));
            await beforeEnd();
            complete = true;
        }
        finally
        {
            // Also when the client left: the summary says how far the export got.
            await export.EndAsync(complete);
        }
    }

    private ReadOnlyMemory<byte> Encode(IReadOnlyList<UserExportRow> rows)
    {
        if (export.Format == UserExportFormat.Csv)
        {
            var csv = new StringBuilder(rows.Count * 160);
            foreach (var row in rows)
            {
                csv.Append(Csv.Field(row.UserId)).Append(',').Append(Csv.Field(row.Organization)).Append(',')
                    .Append(Csv.Field(string.Join(';', row.AllowedModels))).Append(',').Append(Csv.Field(string.Join(';', row.AllowedServices))).Append(',')
                    .Append(Csv.Field(row.ExtraInfo)).Append(',');
                if (export.Query.IncludeKeys) csv.Append(Csv.Field(row.Key)).Append(',');
                csv.Append(Time(row.CreatedAt)).Append(',').Append(Time(row.UpdatedAt)).Append(',').Append(row.SyncState).Append(',')
                    .Append(row.ExpiresAt is { } expiresAt ? Time(expiresAt) : "").Append("\r\n");
            }
            return Encoding.UTF8.GetBytes(csv.ToString());
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Max(rows.Count, 1) * 200);
        using var json = new Utf8JsonWriter(buffer, JsonOptions);
        foreach (var row in rows)
        {
            json.WriteStartObject();
            json.WriteString("user_id", row.UserId);
            json.WriteString("organization", row.Organization);
            WriteList(json, "allowed_models", row.AllowedModels);
            WriteList(json, "allowed_services", row.AllowedServices);
            json.WriteString("extra_info", row.ExtraInfo);
            json.WriteString("created_at", Time(row.CreatedAt));
            json.WriteString("updated_at", Time(row.UpdatedAt));
            json.WriteString("sync_state", row.SyncState);
            if (row.ExpiresAt is { } expiresAt) json.WriteString("expires_at", Time(expiresAt));
            else json.WriteNull("expires_at");
            if (export.Query.IncludeKeys) json.WriteString("key", row.Key);
            json.WriteEndObject();
            json.Flush();
            buffer.Write("\n"u8);
            json.Reset();
        }
        return buffer.WrittenMemory;
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
