using System.Diagnostics;
using System.Text;
using Mama.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mama.Tests.Users;

public abstract class KeysAtRestTests(MamaApp app)
{
    /// <summary>Everything the database holds, as a person with a copy of it would see it.</summary>
    protected abstract Task<string> DumpAsync();

    [Fact]
    public async Task NoKeyAppearsInPlainTextInTheDatabase()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(20);
        var keys = ids.Select(id => app.LiteLlm.FindKeyByAlias(id)!.Key!).ToList();
        Assert.All(keys, k => Assert.StartsWith("sk-", k));

        var dump = await DumpAsync();

        Assert.Contains(ids[0], dump); // the dump is real: it holds the users
        foreach (var key in keys)
        {
            Assert.DoesNotContain(key, dump);
            Assert.DoesNotContain(key[3..23], dump); // nor a long piece of it
        }
    }
}

public sealed class KeysAtRestTestsOnSqlite(SqliteApp app) : KeysAtRestTests(app), IClassFixture<SqliteApp>
{
    private readonly SqliteApp _app = app;

    protected override Task<string> DumpAsync()
    {
        var file = new SqliteConnectionStringBuilder(_app.Database.ConnectionString).DataSource;
        var text = new StringBuilder();
        // The main file and its write-ahead log, read as raw bytes while mama runs.
        foreach (var path in new[] { file, file + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            text.Append(reader.ReadToEnd());
        }
        return Task.FromResult(text.ToString());
    }
}

public sealed class KeysAtRestTestsOnPostgres(PostgresApp app) : KeysAtRestTests(app), IClassFixture<PostgresApp>
{
    private readonly PostgresApp _app = app;

    protected override async Task<string> DumpAsync()
    {
        var cs = new NpgsqlConnectionStringBuilder(_app.Database.ConnectionString);
        var pgDump = Directory.GetDirectories("/usr/lib/postgresql").OrderBy(d => d).Select(d => Path.Combine(d, "bin", "pg_dump")).Last(File.Exists);
        var start = new ProcessStartInfo(pgDump, ["-h", cs.Host!, "-p", cs.Port.ToString(), "-U", cs.Username!, "-d", cs.Database!, "--data-only"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["PGPASSWORD"] = cs.Password },
        };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        return output;
    }
}
