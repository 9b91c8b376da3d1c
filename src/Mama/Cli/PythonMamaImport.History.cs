using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Mama.Admins;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Users;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mama.Cli;

/// <param name="Source">Rows in the Python mama.</param>
/// <param name="New">Rows this run imports (or would, in a dry run).</param>
/// <param name="Skipped">Rows an earlier run already imported.</param>
public sealed record TableCounts(int Source, int New, int Skipped, int Refused, int Conflicts);

public sealed record ImportCounts(TableCounts Users, TableCounts Admins, TableCounts Events)
{
    public string Describe() =>
        $"users {Users.New} new, {Users.Skipped} already imported, {Users.Refused} refused, {Users.Conflicts} in conflict; " +
        $"admins {Admins.New} new, {Admins.Skipped} already imported, {Admins.Refused} refused; " +
        $"event logs {Events.New} new, {Events.Skipped} already imported";
}

/// <summary>Admins and the event log: the parts of an import that are history and accounts rather than keys.</summary>
public sealed partial class PythonMamaImport
{
    /// <summary>Leaves out admins an earlier run imported; an admin of that name that mama made itself is refused, never overwritten.</summary>
    private async Task<int> SkipImportedAdminsAsync(List<AdminToImport> admins, List<Refusal> refused, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var names = admins.Select(a => a.Source.Username.ToUpperInvariant()).ToList();
        var found = await db.Users.AsNoTracking().Where(a => names.Contains(a.NormalizedUserName!))
            .Select(a => new { a.NormalizedUserName, a.CreatedBy }).ToListAsync(ct);
        var skipped = 0;
        foreach (var admin in admins.ToList())
        {
            var same = found.FirstOrDefault(f => f.NormalizedUserName == admin.Source.Username.ToUpperInvariant());
            if (same is null) continue;
            if (same.CreatedBy == ImportedBy) skipped++;
            else refused.Add(new Refusal("admins", admin.Source.Id, $"admin '{admin.Source.Username}' (row {admin.Source.Id})", "mama already has an admin of this name; it is kept as it is."));
            admins.Remove(admin);
        }
        return skipped;
    }

    /// <summary>Admins keep their bcrypt hash; <see cref="BcryptPasswordHasher"/> verifies it and Identity rehashes it at the first sign-in.</summary>
    private async Task ImportAdminsAsync(List<AdminToImport> admins, TextWriter output, CancellationToken ct)
    {
        foreach (var chunk in admins.Chunk(BatchSize))
        {
            await using var scope = scopes.CreateAsyncScope();
            var accounts = scope.ServiceProvider.GetRequiredService<UserManager<AdminAccount>>();
            var db = scope.ServiceProvider.GetRequiredService<MamaDbContext>();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var admin in chunk)
            {
                var account = new AdminAccount
                {
                    UserName = admin.Source.Username,
                    PasswordHash = admin.Source.Password,
                    CreatedAt = admin.Source.CreatedAt ?? clock.GetUtcNow(),
                    CreatedBy = ImportedBy,
                    MustChangePassword = admin.MustChangePassword,
                };
                Require(await accounts.CreateAsync(account), admin);
                Require(await accounts.AddToRoleAsync(account, admin.Source.IsSuperAdmin ? Roles.SuperAdmin : Roles.Admin), admin);
            }
            await tx.CommitAsync(ct);
            await output.WriteLineAsync($"admins: {chunk.Length} imported");
        }
    }

    private static void Require(IdentityResult result, AdminToImport admin)
    {
        if (!result.Succeeded)
            throw new InvalidOperationException($"Importing the admin '{admin.Source.Username}' failed: " + string.Join(" ", result.Errors.Select(e => e.Description)));
    }

    private async Task<(List<SourceEvent> New, int Skipped)> NewEventsAsync(List<SourceEvent> events, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var imported = (await db.AuditEvents.AsNoTracking().Where(e => e.TraceId != null && e.TraceId.StartsWith(TracePrefix))
            .Select(e => e.TraceId!).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var fresh = events.Where(e => !imported.Contains(TraceOf(e))).ToList();
        return (fresh, events.Count - fresh.Count);
    }

    /// <summary>
    /// Each original row becomes one audit event marked as imported: its reason says so and its trace id names the source
    /// row, which is also how a later run knows it is there.
    /// </summary>
    private async Task ImportEventsAsync(List<SourceEvent> events, List<SourceAdmin> admins, List<SourceUser> users, TextWriter output, CancellationToken ct)
    {
        var adminNames = admins.ToDictionary(a => a.Id.ToString(CultureInfo.InvariantCulture), a => a.Username);
        // Before Alembic revision fb6980a9f359 both columns held row ids; a value that is no user's ID but a row id is read as that row.
        var userIds = users.Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        var userNames = users.Select(u => (Row: u.Id.ToString(CultureInfo.InvariantCulture), u.UserId)).Where(u => !userIds.Contains(u.Row)).ToDictionary(u => u.Row, u => u.UserId);
        var done = 0;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var chunk in events.Chunk(BatchSize))
        {
            await db.InTransactionAsync(async token =>
            {
                foreach (var e in chunk) db.AuditEvents.Add(ToAuditEvent(e, adminNames, userNames));
                await db.SaveChangesAsync(token);
                return true;
            }, ct);
            done += chunk.Length;
            await output.WriteLineAsync($"event logs: {done}/{events.Count}");
        }
    }

    private AuditEvent ToAuditEvent(SourceEvent e, Dictionary<string, string> adminNames, Dictionary<string, string> userNames)
    {
        var userId = UserValidation.NormalizeUserId(e.UserId is null ? null : userNames.GetValueOrDefault(e.UserId) ?? e.UserId);
        var validUser = userId is not null && UserValidation.IsValidUserId(userId);
        var actor = e.AdminId is null ? "python-mama" : adminNames.GetValueOrDefault(e.AdminId) ?? e.AdminId;
        var detail = new Dictionary<string, object?>
        {
            ["imported_from"] = "python-mama",
            ["source_id"] = e.Id,
            ["event_detail"] = e.EventDetail is { Length: > 4000 } text ? text[..4000] : e.EventDetail,
            ["result"] = e.Result,
        };
        if (!validUser && e.UserId is not null) detail["user_id"] = TextRules.Printable(e.UserId, 100);
        return new AuditEvent
        {
            At = e.CreatedAt ?? clock.GetUtcNow(),
            Actor = actor.Length > 200 ? actor[..200] : actor,
            Action = e.EventType.Length > 64 ? e.EventType[..64] : e.EventType,
            UserIds = AuditEvent.JoinUserIds(validUser ? [userId!] : null),
            Detail = AuditLog.Redact(JsonSerializer.Serialize(detail, MamaJson.Options)),
            Result = e.Result is null || e.Result.StartsWith("success", StringComparison.OrdinalIgnoreCase) || e.Result.Equals("ok", StringComparison.OrdinalIgnoreCase)
                ? AuditResult.Success : AuditResult.Failure,
            Reason = "imported from the Python mama",
            TraceId = TraceOf(e),
        };
    }

    /// <summary>The source row's id and a digest of its content, so the rows of another Python mama database with the same ids are not taken for these.</summary>
    private static string TraceOf(SourceEvent e)
    {
        var content = string.Join('\u001f', e.CreatedAt?.UtcTicks.ToString(CultureInfo.InvariantCulture), e.EventType, e.UserId, e.AdminId, e.EventDetail, e.Result);
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)))[..12];
        return TracePrefix + e.Id.ToString(CultureInfo.InvariantCulture) + ":" + digest;
    }
}
