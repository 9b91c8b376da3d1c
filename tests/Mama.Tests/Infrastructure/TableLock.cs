using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mama.Tests.Infrastructure;

/// <summary>Someone else holding a table's write lock (the whole file on SQLite) until disposed: a database that stops answering.</summary>
public static class TableLock
{
    public static async Task<IAsyncDisposable> HoldAsync(TestDatabase database, string table)
    {
        if (database.Provider == "sqlite")
        {
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ToString());
            await connection.OpenAsync();
            await using (var begin = new SqliteCommand("BEGIN EXCLUSIVE", connection)) await begin.ExecuteNonQueryAsync();
            return connection; // closing it rolls the transaction back
        }
        var postgres = new NpgsqlConnection(database.ConnectionString);
        await postgres.OpenAsync();
        await using (var begin = new NpgsqlCommand($"""BEGIN; LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE""", postgres)) await begin.ExecuteNonQueryAsync();
        return postgres;
    }
}
