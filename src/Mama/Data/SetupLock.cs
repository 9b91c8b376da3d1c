using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Mama.Data;

/// <summary>
/// Serialises migrations and the bootstrap across instances that start at the same moment. On PostgreSQL a
/// session-level advisory lock on a connection of its own (no pool: if this process dies, the session and the lock
/// die with it). On SQLite EF's own migration lock covers the migrations and the bootstrap runs in one
/// <c>BEGIN IMMEDIATE</c> transaction, so a second process on the file waits on the busy timeout.
/// </summary>
public sealed class SetupLock : IAsyncDisposable
{
    /// <summary>"mama" in ASCII: the advisory lock key shared by every instance on the database.</summary>
    public const long Key = 0x6d616d61;

    private readonly NpgsqlConnection? _connection;

    private SetupLock(NpgsqlConnection? connection) => _connection = connection;

    public static async Task<SetupLock> AcquireAsync(MamaDbContext db, ILogger logger, CancellationToken ct)
    {
        if (!db.Database.IsNpgsql()) return new SetupLock(null);
        var connectionString = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false, Enlist = false }.ToString();
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            if (!await TryLockAsync(connection, ct))
            {
                logger.LogInformation("Another instance is migrating the database; waiting for it.");
                await using var wait = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection) { CommandTimeout = 0 };
                wait.Parameters.AddWithValue("key", Key);
                await wait.ExecuteNonQueryAsync(ct);
            }
            return new SetupLock(connection);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", connection);
        command.Parameters.AddWithValue("key", Key);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is null) return;
        try
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", _connection);
            unlock.Parameters.AddWithValue("key", Key);
            await unlock.ExecuteNonQueryAsync();
        }
        finally
        {
            // Closing an unpooled connection ends the session, which releases the lock even if the unlock failed.
            await _connection.DisposeAsync();
        }
    }
}
