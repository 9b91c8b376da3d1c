using Npgsql;

namespace Mama.Tests.Cli;

/// <summary>A scratch database with the Python mama's schema (its final Alembic revision), filled as its admins would have.</summary>
public sealed class PythonMamaDatabase : IAsyncDisposable
{
    private readonly string _admin;
    private readonly string _name;

    private PythonMamaDatabase(string admin, string name)
    {
        _admin = admin;
        _name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ToString();
    }

    public string ConnectionString { get; }

    public static async Task<PythonMamaDatabase> CreateAsync()
    {
        var admin = Environment.GetEnvironmentVariable(Infrastructure.TestDatabase.PostgresVariable)
            ?? throw new InvalidOperationException($"Set {Infrastructure.TestDatabase.PostgresVariable}: the Python mama ran on PostgreSQL only.");
        var database = new PythonMamaDatabase(admin, "python_mama_" + Guid.NewGuid().ToString("N")[..16]);
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database._name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        await database.ExecuteAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Cli", "Fixtures", "python-mama-schema.sql")));
        return database;
    }

    public async Task<int> AddUserAsync(string userId, string key, string? organization, string[] models, string[] services, string? extraInfo = null)
    {
        await using var connection = await OpenAsync();
        await using var insert = new NpgsqlCommand(
            "INSERT INTO users (user_id, organization, key_value, extra_info, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id", connection)
        {
            Parameters = { new() { Value = userId }, new() { Value = (object?)organization ?? DBNull.Value }, new() { Value = key }, new() { Value = (object?)extraInfo ?? DBNull.Value }, new() { Value = CreatedAt } },
        };
        var id = (int)(await insert.ExecuteScalarAsync())!;
        foreach (var model in models) await ExecuteAsync("INSERT INTO allowed_models (user_id, model_name) VALUES ($1, $2)", id, model);
        foreach (var service in services) await ExecuteAsync("INSERT INTO allowed_services (user_id, service_name) VALUES ($1, $2)", id, service);
        return id;
    }

    public static readonly DateTime CreatedAt = new(2025, 8, 1, 9, 30, 0, DateTimeKind.Utc);

    public Task AddAdminAsync(string username, string password, bool superAdmin) =>
        ExecuteAsync("INSERT INTO admins (username, password, is_super_admin) VALUES ($1, $2, $3)", username, BCrypt.Net.BCrypt.HashPassword(password), superAdmin);

    public Task AddEventAsync(string? userId, string? adminId, string type, string detail, string result) =>
        ExecuteAsync("INSERT INTO event_logs (user_id, admin_id, event_type, event_detail, result, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            (object?)userId ?? DBNull.Value, (object?)adminId ?? DBNull.Value, type, detail, result, CreatedAt);

    private async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        await command.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_admin);
        await connection.OpenAsync();
        try
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name}", connection);
            await drop.ExecuteNonQueryAsync();
        }
        catch (PostgresException)
        {
            // A scratch database left behind in the throwaway cluster is harmless.
        }
    }
}
