using Mama.Audit;
using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.Cli;

public sealed record UsersFileImportOptions(string From, bool DryRun, OnConflict OnConflict);

/// <summary>
/// <c>import users</c>: reads a file of <c>GET /api/v1/users/export</c> into mama, so a mama database can be moved or
/// restored. Users arrive pending: the reconciler adopts the keys the proxy already holds, or creates them. A user mama
/// already has with the same ID and key (or any key, when the file had none for it) is skipped, so the command can run again.
/// </summary>
public sealed class UsersFileImport(IDbContextFactory<MamaDbContext> dbFactory, ImportedUserWriter writer, AuditLog audit)
{
    public const string ImportedBy = "import:users";

    public async Task<int> RunAsync(UsersFileImportOptions options, TextWriter output, CancellationToken ct)
    {
        var jsonLines = UsersFile.IsJsonLines(options.From);
        UsersFile file;
        try
        {
            file = UsersFile.Parse(await File.ReadAllTextAsync(options.From, ct), jsonLines);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            await output.WriteLineAsync($"Cannot read {options.From}: {e.Message}");
            return 1;
        }
        var total = file.Users.Count + file.Refused.Count;
        await output.WriteLineAsync($"Read {total} users from {Path.GetFileName(options.From)} ({(jsonLines ? "JSON lines" : "CSV")}); {file.NewKeys.Count} without a key get a new one.");

        var (users, refused) = PythonMamaPlan.CheckUsers(file.Users);
        refused.AddRange(file.Refused);
        var (existing, conflicts) = await writer.SortAgainstMamaAsync(users, refused, u => file.NewKeys.Contains(u.Source.Id), ct);
        foreach (var refusal in refused.OrderBy(r => r.SourceId))
            await output.WriteLineAsync($"refused: {refusal.Row}: {refusal.Reason}");
        foreach (var conflict in conflicts)
            await output.WriteLineAsync($"conflict: {conflict.Row}: {conflict.Reason}");

        var counts = new TableCounts(total, users.Count, existing, refused.Count, conflicts.Count);
        await output.WriteLineAsync((options.DryRun ? "Dry run, nothing written. Would import: " : "To import: ") + Describe(counts));
        if (conflicts.Count > 0 && options.OnConflict == OnConflict.Refuse)
        {
            await output.WriteLineAsync($"{conflicts.Count} user(s) already exist in mama with another key. " +
                "Nothing was imported: run again with --on-conflict skip (import the others, keep mama's) or --on-conflict fail (import the others, report these as failed).");
            return 2;
        }
        if (options.DryRun) return 0;

        try
        {
            await writer.WriteAsync(users, ImportedBy, output, ct);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            await output.WriteLineAsync("The import stopped: " + AuditLog.Redact((e.InnerException ?? e).Message) + " Batches already written stay; run the command again to continue.");
            return 1;
        }
        var failed = conflicts.Count > 0 && options.OnConflict == OnConflict.Fail;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            audit.Stage(db, new AuditEntry(Actor.Cli, "import.users", failed ? AuditResult.Failure : AuditResult.Success, 0,
                Detail: new { format = jsonLines ? "jsonl" : "csv", users = counts, new_keys = file.NewKeys.Count, on_conflict = options.OnConflict.ToString().ToLowerInvariant() }));
            await db.SaveChangesAsync(ct);
        }
        await output.WriteLineAsync("Imported: " + Describe(counts) + ". Users are pending: mama adopts or creates their keys on the proxy at its next sync.");
        // On SQLite the server is the only writer and caches user rows (DESIGN §7): it must not run beside the import.
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            if (db.Database.IsSqlite()) await output.WriteLineAsync("mama's database is SQLite: (re)start mama now, so it reads the imported rows.");
        return failed ? 1 : 0;
    }

    private static string Describe(TableCounts users) =>
        $"users {users.New} new, {users.Skipped} already imported, {users.Refused} refused, {users.Conflicts} in conflict";
}
