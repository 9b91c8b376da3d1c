using System.Net;
using System.Net.Sockets;
using Mama.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mama.Tests.Cli;

/// <summary><c>dotnet Mama.dll status</c> as a real process: what it says, and its exit code for scripts and probes.</summary>
public abstract class StatusCommandTests(MamaApp app)
{
    [Fact]
    public async Task WithTheDatabaseAndLiteLlmUpItSaysSoWithTheBacklogAndExitsZero()
    {
        var run = await CliRun.AgainstAsync(app, "status");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains($"database ({app.Database.Provider}): reachable, migrations up to date", run.Output);
        Assert.Contains("LiteLLM: reachable", run.Output);
        Assert.Matches(@"sync backlog: \d+ pending, \d+ error, \d+ conflict", run.Output);
        Assert.Contains("status: ok", run.Output);
    }

    [Fact]
    public async Task WithLiteLlmNotAnsweringItSaysUnreachableAndExitsOne()
    {
        var run = await CliRun.AgainstAsync(app, new Dictionary<string, string?> { ["LiteLlm__BaseUrl"] = $"http://127.0.0.1:{ClosedPort()}/" }, "status");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("LiteLLM: UNREACHABLE", run.Output);
        Assert.Contains($"database ({app.Database.Provider}): reachable", run.Output);
        Assert.Contains("status: DOWN (LiteLLM)", run.Output);
        Assert.DoesNotContain("   at ", run.Output);
    }

    [Fact]
    public async Task WithTheDatabaseUnreachableItSaysSoAndExitsOneWithoutTryingToMigrate()
    {
        var unreachable = app.Database.Provider == "postgres"
            ? new NpgsqlConnectionStringBuilder(app.Database.ConnectionString) { Port = ClosedPort(), Timeout = 5 }.ToString()
            : new SqliteConnectionStringBuilder { DataSource = Path.Combine(app.Database.Folder, "never-created.db") }.ToString();

        var run = await CliRun.AgainstAsync(app, new Dictionary<string, string?> { ["ConnectionStrings__Mama"] = unreachable }, "status");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"database ({app.Database.Provider}): UNREACHABLE", run.Output);
        Assert.Contains("LiteLLM: reachable", run.Output);
        Assert.Contains("status: DOWN (database)", run.Output);
        Assert.DoesNotContain("   at ", run.Output);
        Assert.False(File.Exists(Path.Combine(app.Database.Folder, "never-created.db")));
    }

    /// <summary>A loopback port that nothing listens on: taken, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class StatusCommandTestsOnSqlite(SqliteApp app) : StatusCommandTests(app), IClassFixture<SqliteApp>;
public sealed class StatusCommandTestsOnPostgres(PostgresApp app) : StatusCommandTests(app), IClassFixture<PostgresApp>;
