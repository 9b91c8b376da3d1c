using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace Mama.Data;

/// <summary>
/// Retries a unit of work that failed for a transient reason (deadlock, serialization failure, a connection the server
/// dropped): a query, a SaveChanges, or a whole transaction run through <see cref="Transactions.InTransactionAsync{T}"/>.
/// Unlike EF's own retrying strategies, a transaction begun outside it is not an error: it runs once, unretried (a
/// statement cannot be retried alone inside a transaction the failure has aborted).
/// </summary>
public sealed class PostgresRetryingStrategy(ExecutionStrategyDependencies dependencies)
    : NpgsqlRetryingExecutionStrategy(dependencies, maxRetryCount: 5, maxRetryDelay: TimeSpan.FromSeconds(2), errorCodesToAdd: null)
{
    public override TResult Execute<TState, TResult>(TState state, Func<DbContext, TState, TResult> operation,
        Func<DbContext, TState, ExecutionResult<TResult>>? verifySucceeded) =>
        InOwnTransaction ? operation(Dependencies.CurrentContext.Context, state) : base.Execute(state, operation, verifySucceeded);

    public override Task<TResult> ExecuteAsync<TState, TResult>(TState state, Func<DbContext, TState, CancellationToken, Task<TResult>> operation,
        Func<DbContext, TState, CancellationToken, Task<ExecutionResult<TResult>>>? verifySucceeded, CancellationToken cancellationToken = default) =>
        InOwnTransaction ? operation(Dependencies.CurrentContext.Context, state, cancellationToken) : base.ExecuteAsync(state, operation, verifySucceeded, cancellationToken);

    private bool InOwnTransaction => Current is null && Dependencies.CurrentContext.Context.Database.CurrentTransaction is not null;
}

public static class Transactions
{
    /// <summary>
    /// Runs <paramref name="unit"/> in a transaction that the execution strategy retries as a whole after a transient
    /// failure. Each attempt starts with an empty change tracker, so the unit must read what it changes.
    /// </summary>
    public static Task<T> InTransactionAsync<T>(this MamaDbContext db, Func<CancellationToken, Task<T>> unit, CancellationToken ct) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(async token =>
        {
            db.ChangeTracker.Clear();
            await using var tx = await db.Database.BeginTransactionAsync(token);
            var result = await unit(token);
            await tx.CommitAsync(token);
            return result;
        }, ct);
}
