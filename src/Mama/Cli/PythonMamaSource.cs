using Npgsql;

namespace Mama.Cli;

public sealed record SourceUser(int Id, string UserId, string? Organization, string KeyValue, string? ExtraInfo,
    DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt, List<string> Models, List<string> Services, DateTimeOffset? ExpiresAt = null);

public sealed record SourceAdmin(int Id, string Username, string Password, bool IsSuperAdmin, DateTimeOffset? CreatedAt);

public sealed record SourceEvent(int Id, string? UserId, string? AdminId, string EventType, string? EventDetail, string? Result, DateTimeOffset? CreatedAt);

/// <summary>
/// Reads the Python mama's database (msaltnet/mama v1.0.0, Alembic head fb6980a9f359): <c>users</c>, <c>allowed_models</c>,
/// <c>allowed_services</c>, <c>admins</c> and <c>event_logs</c>, whose <c>user_id</c> and <c>admin_id</c> are plain strings
/// since that revision. Read only: the original stays as it was.
/// </summary>
public sealed class PythonMamaSource(string connectionString)
{
    public async Task<List<SourceUser>> UsersAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var models = await NamesAsync(connection, "SELECT user_id, model_name FROM allowed_models ORDER BY id", ct);
        var services = await NamesAsync(connection, "SELECT user_id, service_name FROM allowed_services ORDER BY id", ct);
        var users = new List<SourceUser>();
        await using var command = new NpgsqlCommand("SELECT id, user_id, organization, key_value, extra_info, created_at, updated_at FROM users ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetInt32(0);
            users.Add(new SourceUser(id, reader.GetString(1), NullableString(reader, 2), reader.GetString(3), NullableString(reader, 4),
                NullableTime(reader, 5), NullableTime(reader, 6), models.GetValueOrDefault(id) ?? [], services.GetValueOrDefault(id) ?? []));
        }
        return users;
    }

    public async Task<List<SourceAdmin>> AdminsAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new NpgsqlCommand("SELECT id, username, password, is_super_admin, created_at FROM admins ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var admins = new List<SourceAdmin>();
        while (await reader.ReadAsync(ct))
            admins.Add(new SourceAdmin(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), !reader.IsDBNull(3) && reader.GetBoolean(3), NullableTime(reader, 4)));
        return admins;
    }

    public async Task<List<SourceEvent>> EventsAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        // ::text, so a database still at the revision before fb6980a9f359 (integer columns) reads the same.
        await using var command = new NpgsqlCommand("SELECT id, user_id::text, admin_id::text, event_type, event_detail, result, created_at FROM event_logs ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var events = new List<SourceEvent>();
        while (await reader.ReadAsync(ct))
            events.Add(new SourceEvent(reader.GetInt32(0), NullableString(reader, 1), NullableString(reader, 2), reader.GetString(3),
                NullableString(reader, 4), NullableString(reader, 5), NullableTime(reader, 6)));
        return events;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private static async Task<Dictionary<int, List<string>>> NamesAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        var byUser = new Dictionary<int, List<string>>();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var userId = reader.GetInt32(0);
            if (!byUser.TryGetValue(userId, out var names)) byUser[userId] = names = [];
            names.Add(reader.GetString(1));
        }
        return byUser;
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetFieldValue<DateTime>(ordinal).ToUniversalTime(), TimeSpan.Zero);
}
