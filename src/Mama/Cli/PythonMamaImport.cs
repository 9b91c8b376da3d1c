using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Users;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Cli;

public enum OnConflict
{
    /// <summary>Not given: a run that finds conflicting users changes nothing.</summary>
    Refuse,
    Skip,
    Fail,
}

public sealed record PythonMamaImportOptions(string From, bool DryRun, OnConflict OnConflict, string? LegacyApiKey, ApiClientScope LegacyScope);

/// <summary>
/// <c>import python-mama</c>: copies the Python mama's users (keys encrypted on the way in), admins (bcrypt hashes kept),
/// event log and shared API key into mama. Users arrive pending and the reconciler adopts the keys the proxy already
/// holds under their aliases. Every step skips what an earlier run imported, so the command can run again.
/// </summary>
public sealed partial class PythonMamaImport(
    IDbContextFactory<MamaDbContext> dbFactory,
    ImportedUserWriter writer,
    IServiceScopeFactory scopes,
    ApiClientService apiClients,
    AuditLog audit,
    IOptions<IdentityOptions> identity,
    TimeProvider clock)
{
    public const string ImportedBy = "import:python-mama";
    public const string TracePrefix = "python-mama:event_logs:";
    public const int BatchSize = ImportedUserWriter.BatchSize;

    public async Task<int> RunAsync(PythonMamaImportOptions options, TextWriter output, CancellationToken ct)
    {
        var source = new PythonMamaSource(options.From);
        List<SourceUser> sourceUsers;
        List<SourceAdmin> sourceAdmins;
        List<SourceEvent> sourceEvents;
        try
        {
            sourceUsers = await source.UsersAsync(ct);
            sourceAdmins = await source.AdminsAsync(ct);
            sourceEvents = await source.EventsAsync(ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or InvalidCastException or ArgumentException)
        {
            await output.WriteLineAsync("Cannot read the Python mama's database: " + LiteLlm.LiteLlmClient.Redact(e.Message));
            return 1;
        }
        await output.WriteLineAsync($"Read the Python mama's database: {sourceUsers.Count} users, {sourceAdmins.Count} admins, {sourceEvents.Count} event log rows.");

        var (users, refused) = PythonMamaPlan.CheckUsers(sourceUsers);
        var (existing, conflicts) = await writer.SortAgainstMamaAsync(users, refused, _ => false, ct);
        var (admins, adminRefusals) = PythonMamaPlan.CheckAdmins(sourceAdmins, identity.Value.User.AllowedUserNameCharacters);
        refused.AddRange(adminRefusals);
        var adminsAlready = await SkipImportedAdminsAsync(admins, refused, ct);
        var (events, eventsAlready) = await NewEventsAsync(sourceEvents, ct);

        foreach (var refusal in refused.OrderBy(r => r.Table).ThenBy(r => r.SourceId))
            await output.WriteLineAsync($"refused: {refusal.Row}: {refusal.Reason}");
        foreach (var conflict in conflicts)
            await output.WriteLineAsync($"conflict: {conflict.Row}: {conflict.Reason}");

        var counts = new ImportCounts(
            new TableCounts(sourceUsers.Count, users.Count, existing, refused.Count(r => r.Table == "users"), conflicts.Count),
            new TableCounts(sourceAdmins.Count, admins.Count, adminsAlready, adminRefusals.Count, 0),
            new TableCounts(sourceEvents.Count, events.Count, eventsAlready, 0, 0));
        await output.WriteLineAsync((options.DryRun ? "Dry run, nothing written. Would import: " : "To import: ") + counts.Describe());

        if (conflicts.Count > 0 && options.OnConflict == OnConflict.Refuse)
        {
            await output.WriteLineAsync($"{conflicts.Count} user(s) already exist in mama with another key. " +
                "Nothing was imported: run again with --on-conflict skip (import the others, keep mama's) or --on-conflict fail (import the others, report these as failed).");
            return 2;
        }
        if (options.DryRun)
        {
            if (options.LegacyApiKey is not null) await RegisterLegacyClientAsync(options, output, ct);
            return 0;
        }

        try
        {
            await writer.WriteAsync(users, ImportedBy, output, ct);
            await ImportAdminsAsync(admins, output, ct);
            await ImportEventsAsync(events, sourceAdmins, sourceUsers, output, ct);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            // Each batch is one transaction: the batches before this one are in, and a second run skips them.
            await output.WriteLineAsync("The import stopped: " + AuditLog.Redact((e.InnerException ?? e).Message) + " Batches already written stay; run the command again to continue.");
            return 1;
        }
        var legacy = options.LegacyApiKey is null ? "not given" : await RegisterLegacyClientAsync(options, output, ct);

        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            audit.Stage(db, new AuditEntry(Actor.Cli, "import.python_mama",
                conflicts.Count > 0 && options.OnConflict == OnConflict.Fail ? AuditResult.Failure : AuditResult.Success, 0,
                Detail: new { users = counts.Users, admins = counts.Admins, event_logs = counts.Events, on_conflict = options.OnConflict.ToString().ToLowerInvariant(), legacy_api_client = legacy }));
            await db.SaveChangesAsync(ct);
        }
        await output.WriteLineAsync("Imported: " + counts.Describe() + ". Users are pending: mama adopts their keys on the proxy at its next sync.");
        // On SQLite the server is the only writer and caches user rows (DESIGN §7): it must not run beside the import.
        if (await IsSqliteAsync(ct)) await output.WriteLineAsync("mama's database is SQLite: (re)start mama now, so it reads the imported rows.");
        return conflicts.Count > 0 && options.OnConflict == OnConflict.Fail ? 1 : 0;
    }

    public const string LegacyClientName = "legacy";

    private async Task<bool> IsSqliteAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return db.Database.IsSqlite();
    }

    private async Task<string> RegisterLegacyClientAsync(PythonMamaImportOptions options, TextWriter output, CancellationToken ct)
    {
        try
        {
            var outcome = await apiClients.RegisterExistingTokenAsync(LegacyClientName, "python-mama", options.LegacyScope, options.LegacyApiKey!, Actor.Cli, ct, options.DryRun);
            await output.WriteLineAsync(outcome == ExistingTokenOutcome.Created
                ? (options.DryRun ? "Would register" : "Registered") + $" the API client '{LegacyClientName}' (scope {ApiClientService.ScopeName(options.LegacyScope)}): the old x-api-key works on mama."
                : $"The API client '{LegacyClientName}' already holds this key: skipped.");
            return outcome == ExistingTokenOutcome.Created ? "created" : "already registered";
        }
        catch (ProblemException e)
        {
            await output.WriteLineAsync("refused: the legacy API key: " + string.Join(" ", e.Errors?.Values.SelectMany(v => v) ?? [e.Message]));
            return "refused";
        }
    }
}
