using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Mama.Data;

/// <summary>
/// Tells in-process caches of user rows that the <c>users</c> table has changed. Every command EF runs that writes
/// to the table (SaveChanges, ExecuteUpdate, ExecuteDelete) advances <see cref="Version"/> once its change is
/// committed: at once outside a transaction, at the commit inside one. A cache that notes the version before it
/// reads, and serves an entry only while the version is unchanged, never serves a row older than the last commit.
/// Writes that bypass EF (none in mama) would go unnoticed.
/// </summary>
public sealed partial class UserTableChanges : DbCommandInterceptor, IDbTransactionInterceptor
{
    private readonly ConditionalWeakTable<DbTransaction, object> _pending = new();
    private long _version;

    /// <summary>Advances at every committed write to <c>users</c>.</summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>Raised after <see cref="Version"/> advances, on the writer's thread: keep handlers short.</summary>
    public event Action? Advanced;

    public void Signal()
    {
        Interlocked.Increment(ref _version);
        Advanced?.Invoke();
    }

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        if (result != 0) Wrote(command);
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (result != 0) Wrote(command);
        return ValueTask.FromResult(result);
    }

    // SaveChanges reads back generated values, so its writes arrive as readers; the reader has run its statements by now.
    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        Wrote(command);
        return result;
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        Wrote(command);
        return ValueTask.FromResult(result);
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        Wrote(command);
        return result;
    }

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        Wrote(command);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Committed(transaction);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Committed(transaction);
        return Task.CompletedTask;
    }

    private void Wrote(DbCommand command)
    {
        if (!WritesUsers().IsMatch(command.CommandText)) return;
        if (command.Transaction is { } transaction) _pending.AddOrUpdate(transaction, transaction);
        else Signal();
    }

    private void Committed(DbTransaction transaction)
    {
        if (_pending.Remove(transaction)) Signal();
    }

    [GeneratedRegex("""(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"users"(\s|;|\(|$)""", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WritesUsers();
}
