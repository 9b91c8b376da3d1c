using Mama.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Mama.Data;

/// <summary>
/// Events staged with a change (<see cref="AuditLog.Stage"/>) join the audit chain in the change's own transaction:
/// the head is locked, the events numbered and hashed after it, and the head moved, all before the commit.
/// </summary>
public abstract partial class MamaDbContext
{
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        var staged = StagedAuditEvents();
        if (staged.Count == 0) return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
        if (Database.CurrentTransaction is { } current)
            return await SaveChainedAsync(current, staged, acceptAllChangesOnSuccess, cancellationToken);

        // A transaction of our own, retried whole after a transient failure; changes are accepted only once it commits.
        var saved = await Database.CreateExecutionStrategy().ExecuteAsync(async ct =>
        {
            await using var tx = await Database.BeginTransactionAsync(ct);
            var count = await SaveChainedAsync(tx, staged, acceptAllChangesOnSuccess: false, ct);
            await tx.CommitAsync(ct);
            return count;
        }, cancellationToken);
        if (acceptAllChangesOnSuccess) ChangeTracker.AcceptAllChanges();
        return saved;
    }

    /// <summary>Synchronous saves are not chained; nothing in mama stages an audit event and saves synchronously.</summary>
    public override int SaveChanges(bool acceptAllChangesOnSuccess) =>
        StagedAuditEvents().Count == 0
            ? base.SaveChanges(acceptAllChangesOnSuccess)
            : throw new InvalidOperationException("Audit events join the chain only through SaveChangesAsync.");

    private List<AuditEvent> StagedAuditEvents() =>
        ChangeTracker.Entries<AuditEvent>().Where(e => e.State == EntityState.Added).Select(e => e.Entity).ToList();

    private async Task<int> SaveChainedAsync(IDbContextTransaction tx, List<AuditEvent> staged, bool acceptAllChangesOnSuccess, CancellationToken ct)
    {
        var connection = Database.GetDbConnection();
        var head = await AuditChain.LockHeadAsync(connection, tx.GetDbTransaction(), Database.IsNpgsql(), ct);
        var moved = AuditChain.Link(staged, head);
        var count = await base.SaveChangesAsync(acceptAllChangesOnSuccess, ct);
        await using var move = connection.CreateCommand();
        move.Transaction = tx.GetDbTransaction();
        AuditChain.BindMove(move, moved);
        await move.ExecuteNonQueryAsync(ct);
        return count;
    }
}
