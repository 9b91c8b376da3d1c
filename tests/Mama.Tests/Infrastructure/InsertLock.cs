using System.Diagnostics;
using Mama.Users;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Mama.Tests.Infrastructure;

/// <summary>Someone else holding the users table's write lock, reads still allowed: concurrent inserts pile up behind it.</summary>
public static class InsertLock
{
    public static async Task<IAsyncDisposable> HoldAsync(TestDatabase database)
    {
        if (database.Provider == "sqlite")
        {
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ToString());
            await connection.OpenAsync();
            // In WAL mode a reserved lock stops writers only.
            await using (var begin = new SqliteCommand("BEGIN IMMEDIATE", connection)) await begin.ExecuteNonQueryAsync();
            return connection; // closing it rolls the transaction back
        }
        var postgres = new NpgsqlConnection(database.ConnectionString);
        await postgres.OpenAsync();
        await using (var begin = new NpgsqlCommand("""BEGIN; LOCK TABLE "users" IN SHARE MODE""", postgres)) await begin.ExecuteNonQueryAsync();
        return postgres;
    }
}

/// <summary>
/// Counts the saves in this process that add a user with one key hash: each has passed the checks before its insert.
/// Watched through EF Core's diagnostic events, since the database shows nothing of a check that found no row.
/// </summary>
public sealed class KeySaves : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly string _hash;
    private readonly IDisposable _all;
    private readonly List<IDisposable> _listeners = [];
    private readonly HashSet<DbContext> _seen = new(ReferenceEqualityComparer.Instance);
    private int _count;

    public KeySaves(string hash)
    {
        _hash = hash;
        _all = DiagnosticListener.AllListeners.Subscribe(this);
    }

    public int Count => Volatile.Read(ref _count);

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
            lock (_listeners) _listeners.Add(value.Subscribe(this));
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        // Raised on the saving request's own thread, before its insert: reading its change tracker here is safe. A save
        // that chains audit events begins its transaction first, and on SQLite that BEGIN waits for the held write lock.
        if ((value.Key == CoreEventId.SaveChangesStarting.Name || value.Key == RelationalEventId.TransactionStarting.Name)
            && value.Value is DbContextEventData { Context: { } context }
            && context.ChangeTracker.Entries<User>().Any(e => e.State == EntityState.Added && e.Entity.KeyHash == _hash))
        {
            lock (_seen)
                if (_seen.Add(context)) Interlocked.Increment(ref _count);
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        _all.Dispose();
        lock (_listeners) _listeners.ForEach(l => l.Dispose());
    }
}
