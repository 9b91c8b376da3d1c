using Mama.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Mama.Data;

/// <summary>
/// Events staged with a change (<see cref="AuditLog.Stage"/>) join the audit chain in the change's own transaction.
/// They are taken out of the change tracker and appended after the change's own statements, so the chain's head is
/// locked only for the events and the commit, never while the change waits for rows someone else holds.
/// </summary>
public abstract partial class MamaDbContext
{
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        var staged = ChangeTracker.Entries<AuditEvent>().Where(e => e.State == EntityState.Added).Select(e => e.Entity).ToList();
        if (staged.Count == 0) return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        foreach (var e in staged) Entry(e).State = EntityState.Detached;
        var ticks = Database.IsSqlite();
        try
        {
            if (Database.CurrentTransaction is { } current)
            {
                var count = await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
                await AuditBatchWriter.AppendAsync(Database.GetDbConnection(), current.GetDbTransaction(), staged, ticks, cancellationToken);
                return count + staged.Count;
            }
            // A transaction of our own, retried whole after a transient failure; changes are accepted only once it commits.
            var saved = await Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
            {
                await using var tx = await Database.BeginTransactionAsync(ct);
                var count = await base.SaveChangesAsync(acceptAllChangesOnSuccess: false, ct);
                await AuditBatchWriter.AppendAsync(Database.GetDbConnection(), tx.GetDbTransaction(), staged, ticks, ct);
                await tx.CommitAsync(ct);
                return count;
            }, cancellationToken);
            if (acceptAllChangesOnSuccess) ChangeTracker.AcceptAllChanges();
            return saved + staged.Count;
        }
        catch
        {
            AuditEvents.AddRange(staged); // staged again, as before the failed save
            throw;
        }
    }

    /// <summary>Synchronous saves are not chained; nothing in mama stages an audit event and saves synchronously.</summary>
    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        ChangeTracker.Entries<AuditEvent>().Any(e => e.State == EntityState.Added)
            ? throw new InvalidOperationException("Audit events join the chain only through SaveChangesAsync.")
            : base.SaveChanges(acceptAllChangesOnSuccess);
}
