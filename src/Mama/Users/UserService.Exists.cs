using Mama.Audit;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>A user ID that is taken: by a user, or by one whose key LiteLLM is still deleting.</summary>
public sealed record TakenUserId(string UserId, bool BeingDeleted);

public sealed partial class UserService
{
    /// <summary>
    /// Which of up to 1,000 user IDs are taken, for Add users to mark rows before Create. Whether an ID exists is user
    /// information: admins only, and one audit event per call with the counts and the IDs found taken (the IDs asked about are mostly new ones).
    /// IDs that are not well-formed are left out; the form says what is wrong with them.
    /// </summary>
    public async Task<IReadOnlyList<TakenUserId>> TakenAsync(IReadOnlyList<string> userIds, Actor actor, CancellationToken ct)
    {
        if (actor.IsApiClient || actor.Name == "anonymous")
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.check_ids", AuditResult.Failure, 403, [], new { asked = userIds.Count }, "admins only"), ct);
            throw ProblemException.Forbidden("Only an admin may check which user IDs exist.").WithCode("admins_only");
        }
        if (userIds.Count > RequestLimits.MaxUserIdsPerCall)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.check_ids", AuditResult.Failure, 400, [], new { asked = userIds.Count }, "too many user IDs"), ct);
            throw ProblemException.Validation("user_ids", $"At most {RequestLimits.MaxUserIdsPerCall} user IDs per call; got {userIds.Count}.").WithCode("too_many_user_ids");
        }
        var ids = userIds.Select(id => UserValidation.NormalizeUserId(id?.Trim())).Where(UserValidation.IsValidUserId).Select(id => id!).Distinct(StringComparer.Ordinal).ToList();

        List<TakenUserId> taken = [];
        if (ids.Count > 0)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            taken = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId))
                .Select(u => new TakenUserId(u.UserId, u.DeletedAt != null)).ToListAsync(ct);
        }
        // The IDs found are what the call revealed, so they are the event's targets (as a list names what it returned).
        await audit.WriteAsync(new AuditEntry(actor, "user.check_ids", AuditResult.Success, 200, taken.ConvertAll(t => t.UserId), new { asked = ids.Count, taken = taken.Count }), ct);
        return taken;
    }
}
