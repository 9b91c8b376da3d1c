using System.Collections.Concurrent;
using System.Diagnostics;
using Mama.Audit;
using Mama.Cli;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Attack;

/// <summary>
/// A CLI export stopped by SIGTERM (docker stop, systemd, timeout(1)) while it writes to <c>--output</c>: no file at the
/// output path, no temporary file left beside it (a users export's holds keys), and the export audited as interrupted.
/// </summary>
public abstract class ExportAttackTests(MamaApp app)
{
    [Fact]
    public async Task AnAuditExportStoppedMidwayLeavesNoFileAndIsAuditedAsInterrupted()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        // A day of its own, with enough events that the export is still writing when it is stopped.
        var at = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(Random.Shared.Next(0, 3000));
        await SeedAuditAsync(40_000, at, tag);
        var (dir, file) = OutputIn("audit-" + tag, "audit.csv");
        var day = at.UtcDateTime.ToString("yyyy-MM-dd");

        var run = await StopMidwayAsync(dir, -1, "audit", "export", "--from", day, "--to", at.AddDays(1).UtcDateTime.ToString("yyyy-MM-dd"), "--format", "csv", "--output", file);

        await using var db = app.NewDbContext();
        var events = await db.AuditEvents.Where(e => e.Action == "audit.export" && e.Detail.Contains(day)).ToListAsync();
        Assert.True(run.ExitCode == MamaCli.Failure, $"exit {run.ExitCode}: {run.Output}");
        Assert.Contains("mama: interrupted.", run.Output);
        Assert.False(File.Exists(file));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        var interrupted = Assert.Single(events);
        Assert.Equal(AuditResult.Failure, interrupted.Result);
        Assert.Contains("\"complete\":false", interrupted.Detail);
    }

    [Fact]
    public async Task AUsersExportWithKeysStoppedMidwayLeavesNoKeysOnDiskAndIsAuditedAsInterrupted()
    {
        var tag = "uk" + Guid.NewGuid().ToString("N")[..8];
        await SeedUsersAsync(6000, tag);
        var (dir, file) = OutputIn("users-" + tag, "users.jsonl");
        // Stopped once the first batch (keys included) is in the temporary file.

        var run = await StopMidwayAsync(dir, 0, "users", "export", "--format", "jsonl", "--include-keys", "--search", tag, "--output", file);

        await using var db = app.NewDbContext();
        var exports = await db.AuditEvents.Where(e => e.Action == "user.export" && e.Actor == Actor.Cli.Name && e.Detail.Contains(tag)).ToListAsync();
        Assert.True(run.ExitCode == MamaCli.Failure, $"exit {run.ExitCode}: {run.Output}");
        Assert.False(File.Exists(file));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        Assert.Equal(AuditResult.Failure, Assert.Single(exports).Result);
    }

    private (string Dir, string File) OutputIn(string folder, string name)
    {
        var dir = Path.Combine(app.Database.Folder, folder);
        Directory.CreateDirectory(dir);
        return (dir, Path.Combine(dir, name));
    }

    /// <summary>Starts the verb, sends SIGTERM once its temporary output file holds more than <paramref name="written"/> bytes, and waits for it to end.</summary>
    private async Task<(int ExitCode, string Output)> StopMidwayAsync(string dir, long written, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Database__Provider"] = app.Database.Provider,
            ["ConnectionStrings__Mama"] = app.Database.ConnectionString,
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["LiteLlm__UseEmulator"] = "false",
            ["LiteLlm__BaseUrl"] = app.Emulator.BaseUrl.ToString(),
            ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
        };
        var start = MamaProcess.StartInfo(app.Database.Folder, environment, "Development", "http://127.0.0.1:0");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var output = new ConcurrentQueue<string>();
        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            // Every 5 ms: a fast export can otherwise finish between two looks.
            await MamaApp.EventuallyAsync(() => Task.FromResult(process.HasExited || Directory.EnumerateFiles(dir, "*.tmp").Any(f => new FileInfo(f) is { Exists: true } info && info.Length > written)),
                "the export writes its temporary file", TimeSpan.FromSeconds(90), every: TimeSpan.FromMilliseconds(5));
            Assert.False(process.HasExited, "the export ended before it could be stopped: " + string.Join('\n', output));
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
                await kill.WaitForExitAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        process.WaitForExit(); // the asynchronous output readers have delivered every line
        return (process.ExitCode, string.Join('\n', output));
    }

    private async Task SeedAuditAsync(int count, DateTimeOffset at, string tag)
    {
        await using var db = app.NewDbContext();
        for (var chunk = 0; chunk < count; chunk += 2000)
        {
            db.AuditEvents.AddRange(Enumerable.Range(chunk, Math.Min(2000, count - chunk)).Select(i => new AuditEvent
            {
                At = at.AddMilliseconds(i),
                Actor = "seed",
                Action = "seed." + tag,
                UserIds = " ",
                Detail = $"{{\"i\":{i},\"pad\":\"{new string('x', 400)}\"}}",
                Result = AuditResult.Success,
                StatusCode = 200,
            }));
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
        }
    }

    private async Task SeedUsersAsync(int count, string tag)
    {
        var protector = app.Service<KeyProtector>();
        var now = DateTimeOffset.UtcNow;
        await using var db = app.NewDbContext();
        for (var chunk = 0; chunk < count; chunk += 1000)
        {
            db.KeyUsers.AddRange(Enumerable.Range(chunk, Math.Min(1000, count - chunk)).Select(i =>
            {
                var id = $"{tag}-{i:D5}";
                var key = PlantedKeys.NewKey();
                return new User
                {
                    UserId = id,
                    Organization = tag,
                    // Long rows (18 MB for 6,000 users) so that the export runs long enough to be stopped midway.
                    ExtraInfo = new string('x', 3000),
                    KeyCiphertext = protector.Protect(key, id),
                    KeyEncryptionKeyId = protector.CurrentKeyId,
                    KeyHash = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"),
                    KeyLastFour = key[^4..],
                    CreatedAt = now,
                    UpdatedAt = now,
                    CreatedBy = "seed",
                    UpdatedBy = "seed",
                    SyncState = SyncState.Synced,
                };
            }));
            await db.SaveChangesAsync();
            db.ChangeTracker.Clear();
        }
    }
}

public sealed class ExportAttackTestsOnSqlite(SqliteApp app) : ExportAttackTests(app), IClassFixture<SqliteApp>;
public sealed class ExportAttackTestsOnPostgres(PostgresApp app) : ExportAttackTests(app), IClassFixture<PostgresApp>;
