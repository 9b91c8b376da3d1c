using System.Data.Common;
using System.Runtime.CompilerServices;
using Mama.Admins;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Mama.Data;

public static class DatabaseSetup
{
    /// <summary>
    /// Registers <see cref="IDbContextFactory{MamaDbContext}"/> and a scoped <see cref="MamaDbContext"/>
    /// on the configured provider. <c>ConnectionStrings:Mama</c> overrides the SQLite file for both.
    /// </summary>
    public static IServiceCollection AddMamaDatabase(this IServiceCollection services, IConfiguration configuration, string dataPath)
    {
        var options = configuration.GetSection("Database").Get<DatabaseOptions>() ?? new DatabaseOptions();
        var connectionString = configuration.GetConnectionString("Mama");
        if (options.Problem(connectionString) is { } problem)
        {
            // Reported by the start-up validation as one line naming the setting; nothing reaches the database.
            services.AddOptions<DatabaseOptions>().Validate(_ => false, problem).ValidateOnStart();
            services.AddSingleton<IDbContextFactory<MamaDbContext>>(_ => throw new InvalidOperationException(problem));
            services.AddScoped<MamaDbContext>(_ => throw new InvalidOperationException(problem));
            return services;
        }
        if (options.IsPostgres)
        {
            // One query per page: a user's models and services are a handful of rows, so the join stays small.
            services.AddPooledDbContextFactory<PostgresMamaDbContext>(o => o.UseNpgsql(connectionString, x => x
                .UseQuerySplittingBehavior(QuerySplittingBehavior.SingleQuery)
                .ExecutionStrategy(d => new PostgresRetryingStrategy(d))));
            return services.AddContextAdapters<PostgresMamaDbContext>();
        }

        connectionString = string.IsNullOrWhiteSpace(connectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataPath, "mama.db"), Pooling = true }.ToString()
            : connectionString;
        EnsureSqliteFolder(connectionString);
        // On SQLite this process is the only writer (DESIGN §7), so caches of user rows can follow its writes.
        services.AddSingleton<UserTableChanges>();
        services.AddPooledDbContextFactory<SqliteMamaDbContext>((sp, o) => o.UseSqlite(connectionString, x => x.UseQuerySplittingBehavior(QuerySplittingBehavior.SingleQuery))
            .AddInterceptors(new SqlitePragmas(), sp.GetRequiredService<UserTableChanges>()));
        services.AddHostedService<SqliteCheckpointer>();
        return services.AddContextAdapters<SqliteMamaDbContext>();
    }

    private static IServiceCollection AddContextAdapters<TContext>(this IServiceCollection services) where TContext : MamaDbContext
    {
        services.AddSingleton<IDbContextFactory<MamaDbContext>>(sp => new FactoryAdapter<TContext>(sp.GetRequiredService<IDbContextFactory<TContext>>()));
        services.AddScoped<MamaDbContext>(sp => sp.GetRequiredService<IDbContextFactory<TContext>>().CreateDbContext());
        return services;
    }

    private static void EnsureSqliteFolder(string connectionString)
    {
        var file = new SqliteConnectionStringBuilder(connectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(folder) && file != ":memory:") Directory.CreateDirectory(folder);
    }

    /// <summary>Applies migrations and seeds what every installation needs.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MamaDbContext>();
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        // Instances started together on an empty database would otherwise all create the same tables, roles and admin.
        await using (await SetupLock.AcquireAsync(db, scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SetupLock)), ct))
        {
            // History is sealed only by the start that creates the chain: never again, or a rewritten log could be re-chained.
            var chainIsNew = (await db.Database.GetPendingMigrationsAsync(ct)).Any(m => m.EndsWith("_AuditChain", StringComparison.Ordinal));
            await db.Database.MigrateAsync(ct);
            if (chainIsNew && await Audit.AuditSeal.SealHistoryAsync(db, ct) > 0)
                await scope.ServiceProvider.GetRequiredService<Audit.AuditCheckpoints>().SignHeadAsync(now: true, ct, force: true);
            await scope.ServiceProvider.GetRequiredService<SuperAdminSeeder>().SeedAsync(ct);
        }
    }

    private sealed class FactoryAdapter<TContext>(IDbContextFactory<TContext> inner) : IDbContextFactory<MamaDbContext>
        where TContext : MamaDbContext
    {
        public MamaDbContext CreateDbContext() => inner.CreateDbContext();
    }

    /// <summary>
    /// Every SQLite connection commits durably (FULL), waits for a busy writer instead of failing and leaves
    /// checkpoints to <see cref="SqliteCheckpointer"/>. No memory map: with the audit log committing all the time, a
    /// mapped read paid page faults and page set-up on every lookup and cost a third of the throughput. The settings
    /// belong to the physical connection, which the pool keeps open, so they are applied once per handle, not on
    /// every logical open (that cost three statements per request).
    /// </summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        private const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;";
        private readonly ConditionalWeakTable<object, object> _applied = new();

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            if (!NeedsPragmas(connection)) return;
            using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            command.ExecuteNonQuery();
            MarkApplied(connection);
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            if (!NeedsPragmas(connection)) return;
            await using var command = connection.CreateCommand();
            command.CommandText = Pragmas;
            await command.ExecuteNonQueryAsync(cancellationToken);
            MarkApplied(connection);
        }

        private bool NeedsPragmas(DbConnection connection) =>
            connection is not SqliteConnection { Handle: { } handle } || !_applied.TryGetValue(handle, out _);

        private void MarkApplied(DbConnection connection)
        {
            if (connection is SqliteConnection { Handle: { } handle }) _applied.AddOrUpdate(handle, handle);
        }
    }
}

/// <summary>Used by <c>dotnet ef migrations add … --context SqliteMamaDbContext</c>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteMamaDbContext>
{
    public SqliteMamaDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteMamaDbContext>().UseSqlite("Data Source=design.db").Options);
}

/// <summary>Used by <c>dotnet ef migrations add … --context PostgresMamaDbContext</c>; never connects.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresMamaDbContext>
{
    public PostgresMamaDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresMamaDbContext>().UseNpgsql("Host=localhost;Database=mama_design").Options);
}
