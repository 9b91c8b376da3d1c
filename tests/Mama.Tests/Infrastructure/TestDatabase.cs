using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mama.Tests.Infrastructure;

/// <summary>A database of its own for one fixture: a SQLite file in a temp folder, or a new PostgreSQL database.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "MAMA_TEST_POSTGRES";

    private readonly string? _postgresAdmin;
    private readonly string? _postgresName;

    private TestDatabase(string provider, string connectionString, string folder, string? postgresAdmin = null, string? postgresName = null)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Folder = folder;
        _postgresAdmin = postgresAdmin;
        _postgresName = postgresName;
    }

    public string Provider { get; }
    public string ConnectionString { get; }
    /// <summary>The fixture's data folder (secrets files, the SQLite file).</summary>
    public string Folder { get; }

    public static async Task<TestDatabase> CreateAsync(string provider)
    {
        var folder = Directory.CreateTempSubdirectory("mama-test-").FullName;
        if (provider == "sqlite")
            return new TestDatabase(provider, new SqliteConnectionStringBuilder { DataSource = Path.Combine(folder, "mama.db") }.ToString(), folder);

        var admin = Environment.GetEnvironmentVariable(PostgresVariable)
            ?? throw new InvalidOperationException($"Set {PostgresVariable} to a PostgreSQL connection string (bash .ci/run starts a throwaway server and sets it).");
        var name = "mama_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ToString();
        return new TestDatabase("postgres", connectionString, folder, admin, name);
    }

    public async ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        if (_postgresAdmin is not null)
        {
            // The pools are cleared, so a plain DROP normally succeeds. FORCE needs the right to signal every backend
            // (an autovacuum worker may hold the database), which the unprivileged test role may lack; a database
            // left behind in the throwaway cluster is harmless, so cleanup never fails a run.
            await using var connection = new NpgsqlConnection(_postgresAdmin);
            await connection.OpenAsync();
            foreach (var sql in new[] { $"DROP DATABASE IF EXISTS {_postgresName}", $"DROP DATABASE IF EXISTS {_postgresName} WITH (FORCE)" })
            {
                try
                {
                    await using var drop = new NpgsqlCommand(sql, connection);
                    await drop.ExecuteNonQueryAsync();
                    break;
                }
                catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.ObjectInUse or PostgresErrorCodes.InsufficientPrivilege)
                {
                    await Task.Delay(200);
                }
            }
        }
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
