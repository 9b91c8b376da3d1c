using Mama.Audit;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>The export: every user the list filters keep, read and audited a batch at a time.</summary>
public sealed partial class UserService
{
    /// <summary>
    /// Users per batch, and so the most user IDs one audit event of an export names: as many as one
    /// <c>/api/v1</c> call may name, so an export's events are no larger than a lookup's.
    /// </summary>
    public const int ExportBatchSize = RequestLimits.MaxUserIdsPerCall;

    /// <summary>
    /// Checks the request and reads and audits the first batch, so that bad input or an audit log that cannot be
    /// written is still a problem+json answer. Throws <see cref="ProblemException"/> (400) or
    /// <see cref="AuditUnavailableException"/> before anything is sent.
    /// </summary>
    public async Task<UserExport> StartExportAsync(UserExportQuery query, Actor actor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var format = query.Format?.ToLowerInvariant() switch
        {
            null or "" or "csv" => UserExportFormat.Csv,
            "jsonl" => UserExportFormat.Jsonl,
            _ => (UserExportFormat?)null,
        };
        if (format is null) errors["format"] = ["Must be csv or jsonl."];
        var sync = CheckSync(query.Sync, errors);
        CheckRotation(query.Rotation, errors);
        if (errors.Count > 0) throw ProblemException.Validation(errors);
        var known = query.UnavailableModels ? await KnownModelsAsync(ct) : null;

        var export = new UserExport(this, query, format!.Value, sync, actor, clock.GetUtcNow()) { KnownModels = known };
        await export.NextAsync(ct);
        return export;
    }

    internal async Task<IReadOnlyList<UserExportRow>> ReadExportBatchAsync(UserExport export, long afterId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var q = export.Query;
        // Keyset paging by the primary key: each batch is one index range scan, however deep into the table.
        var rows = await Filtered(db, q.Search, q.Organization, q.Model, q.Service, export.Sync, q.Rotation == RotationInProgress, export.KnownModels)
            .Where(u => u.Id > afterId)
            .OrderBy(u => u.Id)
            .Take(ExportBatchSize)
            .Select(u => new
            {
                u.Id,
                u.UserId,
                u.Organization,
                u.ModelNames,
                u.ServiceNames,
                u.ExtraInfo,
                u.CreatedAt,
                u.UpdatedAt,
                u.SyncState,
                u.ExpiresAt,
                Ciphertext = q.IncludeKeys ? u.KeyCiphertext : null,
                u.KeyEncryptionKeyId,
            })
            .ToListAsync(ct);
        export.LastId = rows.Count > 0 ? rows[^1].Id : afterId;
        return rows.ConvertAll(u => new UserExportRow(
            u.UserId, u.Organization, User.Split(u.ModelNames), User.Split(u.ServiceNames), u.ExtraInfo, u.CreatedAt, u.UpdatedAt, u.SyncState.Name(),
            u.Ciphertext is null ? null : protector.TryUnprotect(u.Ciphertext, u.KeyEncryptionKeyId, u.UserId), u.ExpiresAt));
    }

    /// <summary>
    /// A batch is audited before any of it is sent: a key disclosure (<c>user.read_key</c>) of the users whose key
    /// it holds, or a read (<c>user.read</c>). Written with the request's token, so a client gone meanwhile abandons
    /// the event and is sent nothing more.
    /// </summary>
    internal Task AuditExportBatchAsync(UserExport export, IReadOnlyList<UserExportRow> rows, CancellationToken ct)
    {
        var detail = new ExportBatchDetail(export.Batches, export.Format.Name(), export.Query.IncludeKeys,
            export.Query.IncludeKeys ? rows.Where(r => r.Key is null).Select(r => r.UserId).ToList() : null);
        var action = export.Query.IncludeKeys ? "user.read_key" : "user.read";
        var ids = export.Query.IncludeKeys ? rows.Where(r => r.Key is not null).Select(r => r.UserId).ToList() : rows.Select(r => r.UserId).ToList();
        return audit.WriteAsync(new AuditEntry(export.Actor, action, AuditResult.Success, 200, ids, detail), ct);
    }

    /// <summary>One <c>user.export</c> event per export: what was asked, and how much was sent before it ended.</summary>
    internal Task AuditExportEndAsync(UserExport export, bool complete)
    {
        var q = export.Query;
        var detail = new ExportSummaryDetail(export.Format.Name(), q.IncludeKeys, q.Search, q.Organization, q.Model, q.Service, q.Sync, q.UnavailableModels,
            export.RowsSent, export.RowsAudited, export.Batches, complete);
        // Not the request's token: the client may be gone, and how the export ended is still worth recording.
        return audit.WriteAsync(new AuditEntry(export.Actor, "user.export", complete ? AuditResult.Success : AuditResult.Failure, 200, null, detail,
            complete ? null : $"the export stopped after {export.RowsSent} rows were sent"), CancellationToken.None);
    }

    private sealed record ExportBatchDetail(int ExportBatch, string Format, bool IncludeKeys, IReadOnlyList<string>? KeyUnreadable);

    private sealed record ExportSummaryDetail(string Format, bool IncludeKeys, string? Search, string? Organization, string? Model, string? Service, string? Sync, bool UnavailableModels,
        long RowsSent, long RowsAudited, int Batches, bool Complete);
}
