using Mama.Audit;
using Mama.LiteLlm;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

public sealed partial class UserService
{
    public async Task<DeleteUsersResponse> DeleteAsync(IReadOnlyList<string>? userIds, Actor actor, CancellationToken ct)
    {
        var ids = UserValidation.RequireUserIds(userIds);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var users = await db.KeyUsers.Where(u => ids.Contains(u.UserId) && u.DeletedAt == null).ToListAsync(ct);
        await RequireAllFoundAsync(ids, users, actor, "user.delete", ct);

        var now = clock.GetUtcNow();
        foreach (var user in users)
        {
            // A tombstone: the row stays until its key is gone from LiteLLM.
            user.DeletedAt = now;
            user.UpdatedAt = now;
            user.UpdatedBy = actor.Name;
            user.Version++;
            NeedsSync(db, user, now);
            audit.Stage(db, new AuditEntry(actor, "user.delete", AuditResult.Success, 200, [user.UserId], new { organization = user.Organization }));
        }
        WebhookOutbox.Stage(db, WebhookEvents.UserDeleted, users.Select(u => u.UserId).ToList(), now);
        await SaveOrConflictAsync(db, ct);

        var outcomes = await SyncInlineAsync(users, now + liteLlmOptions.Value.InlineSyncBudget);
        return new DeleteUsersResponse(users.Select(u => u.UserId).ToList(), outcomes);
    }

    /// <summary>Retries the LiteLLM sync of one user now, whatever its backoff says.</summary>
    public async Task<SyncOutcome> RetrySyncAsync(string userId, Actor actor, CancellationToken ct)
    {
        userId = RequireUserId(userId);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var id = await db.KeyUsers.Where(u => u.UserId == userId).Select(u => (long?)u.Id).SingleOrDefaultAsync(ct);
        if (id is null)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.sync", AuditResult.Failure, 404, [userId], Reason: "no such user"), ct);
            throw UserNotFound(userId);
        }
        var outcome = await sync.SyncOneAsync(id.Value, ct);
        await audit.WriteAsync(new AuditEntry(actor, "user.sync", outcome.State is SyncOutcome.Synced or SyncOutcome.Deleted ? AuditResult.Success : AuditResult.Failure,
            200, [userId], new { outcome.State }, outcome.Error), ct);
        return outcome;
    }
}
