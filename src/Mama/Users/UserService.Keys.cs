using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>Keys an admin brings along: on create, and to resolve a user whose alias the proxy holds under another key.</summary>
public sealed partial class UserService
{
    /// <summary>The hashes of the supplied keys by row; a key given twice in one request fails both rows.</summary>
    private static Dictionary<int, string> CheckSuppliedKeysUnique(IReadOnlyList<NewUserRequest?> rows, Action<int, string, string> fail)
    {
        var hashes = new Dictionary<int, string>();
        for (var i = 0; i < rows.Count; i++)
            if (rows[i]?.Key is { } key && UserValidation.CheckKey(key) is null) hashes[i] = LiteLlmClient.HashKey(key);
        foreach (var group in hashes.GroupBy(h => h.Value).Where(g => g.Count() > 1))
            foreach (var (i, _) in group)
                fail(i, "key", "The same key is given for more than one user in this request.");
        return hashes;
    }

    private static async Task RequireKeysUnusedAsync(MamaDbContext db, Dictionary<int, string> hashes, Action<int, string, string> fail, CancellationToken ct)
    {
        if (hashes.Count == 0) return;
        var wanted = hashes.Values.Distinct().ToList();
        var used = await db.KeyUsers.AsNoTracking().Where(u => wanted.Contains(u.KeyHash)).Select(u => u.KeyHash).ToListAsync(ct);
        foreach (var (i, hash) in hashes)
            if (used.Contains(hash)) fail(i, "key", "Another user already has this key.");
    }

    /// <summary>
    /// Ends a conflict: <c>replace</c> deletes the proxy's key under the alias and lets the sync create mama's;
    /// <c>import</c> takes the proxy key's value from the admin, checked against the proxy's hash, and adopts it.
    /// </summary>
    public async Task<ResolveConflictResponse> ResolveAsync(string userId, ResolveConflictRequest request, Actor actor, CancellationToken ct)
    {
        userId = RequireUserId(userId);
        var action = request.Action?.Trim().ToLowerInvariant();
        if (action is not ("replace" or "import")) throw ProblemException.Validation("action", "Must be replace or import.");
        if (action == "import" && UserValidation.CheckKey(request.Key) is { } keyError) throw ProblemException.Validation("key", keyError);
        if (action == "replace" && request.Key is not null) throw ProblemException.Validation("key", "Only an import takes a key.");

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.KeyUsers.SingleOrDefaultAsync(u => u.UserId == userId && u.DeletedAt == null, ct);
        async Task<ProblemException> FailAsync(int status, string reason, ProblemException problem)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.resolve", AuditResult.Failure, status, [userId], new { action }, reason), ct);
            return problem;
        }
        if (user is null) throw await FailAsync(404, "no such user", ProblemException.NotFound($"No user '{userId}'."));
        if (user.SyncState != SyncState.Conflict)
            throw await FailAsync(409, "not in conflict", ProblemException.Conflict($"User '{userId}' is not in conflict with the proxy (its sync state is {user.SyncState.Name()})."));

        IReadOnlyList<string> onProxy;
        try
        {
            onProxy = (await liteLlm.KeysWithAliasAsync(user.UserId, ct)).Select(k => k.Token!).ToList();
        }
        catch (LiteLlmException e)
        {
            throw await FailAsync(503, e.Message, ProblemException.Unavailable(e.Message));
        }

        var now = clock.GetUtcNow();
        object detail;
        if (action == "replace")
        {
            var deleted = 0;
            try
            {
                foreach (var hash in onProxy.Where(h => h != user.KeyHash))
                    if (await liteLlm.DeleteKeyByHashAsync(hash, ct)) deleted++;
            }
            catch (LiteLlmException e)
            {
                throw await FailAsync(503, e.Message, ProblemException.Unavailable(e.Message));
            }
            detail = new { action, deleted_proxy_keys = deleted };
        }
        else
        {
            var key = request.Key!;
            var hash = LiteLlmClient.HashKey(key);
            if (!onProxy.Contains(hash))
                throw await FailAsync(400, "key does not match the proxy's",
                    ProblemException.Validation("key", $"This is not the key the proxy holds under the alias '{user.UserId}'; nothing was changed."));
            if (await db.KeyUsers.AnyAsync(u => u.KeyHash == hash && u.Id != user.Id, ct))
                throw await FailAsync(409, "key held by another user", ProblemException.Conflict("Another user already has this key; nothing was changed."));
            user.KeyCiphertext = protector.Protect(key, user.UserId);
            user.KeyEncryptionKeyId = protector.CurrentKeyId;
            user.KeyHash = hash;
            user.KeyLastFour = key[^4..];
            user.KeyLiveAt = null; // a new value: live once the sync confirms it on the proxy
            detail = new { action, key_supplied = true };
        }
        user.UpdatedAt = now;
        user.UpdatedBy = actor.Name;
        user.Version++;
        NeedsSync(db, user, now);
        user.SyncError = null;
        audit.Stage(db, new AuditEntry(actor, "user.resolve", AuditResult.Success, 200, [user.UserId], detail));
        await SaveOrConflictAsync(db, ct);

        var outcome = (await SyncInlineAsync([user], InlineDeadline())).SingleOrDefault() ?? new SyncOutcome(user.UserId, SyncOutcome.Pending);
        return new ResolveConflictResponse((await ResponsesAsync([user], ct)).Single(), outcome);
    }
}
