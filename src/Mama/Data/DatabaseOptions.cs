using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mama.Data;

public sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    public bool IsPostgres => Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase)
        || Provider.Equals("postgresql", StringComparison.OrdinalIgnoreCase);

    public bool IsSqlite => Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase);

    /// <summary>What is wrong with the provider and connection string, naming the settings; null when nothing is.</summary>
    public string? Problem(string? connectionString)
    {
        if (!IsPostgres && !IsSqlite)
            return $"Database:Provider (env Database__Provider) must be 'sqlite' or 'postgres', not '{Provider}'.";
        if (IsPostgres && string.IsNullOrWhiteSpace(connectionString))
            return "Database:Provider is postgres but ConnectionStrings:Mama (env ConnectionStrings__Mama) is not set.";
        if (string.IsNullOrWhiteSpace(connectionString)) return null;
        try
        {
            // Only parsed here: the value may hold a password, so the message never repeats it.
            _ = IsPostgres ? (DbConnectionStringBuilder)new NpgsqlConnectionStringBuilder(connectionString) : new SqliteConnectionStringBuilder(connectionString);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
        {
            return $"ConnectionStrings:Mama (env ConnectionStrings__Mama) is not a valid {(IsPostgres ? "PostgreSQL" : "SQLite")} connection string.";
        }
    }
}
