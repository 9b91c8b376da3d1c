using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Security;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>Keys an admin brings along: on create, and to resolve a user whose alias the proxy holds under another key.</summary>
public sealed partial class UserService
{
    /// <summary>The hashes of the supplied keys by row; a key given twice in one request fails both rows.</summary>
    private static Dictionary<int, string> CheckSuppliedKeysUnique(IReadOnlyList<NewUserRequest?> rows, Action<int, string, string, string> fail)
    {
        var hashes = new Dictionary<int, string>();
        for (var i = 0; i < rows.Count; i++)
            if (rows[i]?.Key is { } key && UserValidation.CheckKey(key) is null) hashes[i] = LiteLlmClient.HashKey(key);
        foreach (var group in hashes.GroupBy(h => h.Value).Where(g => g.Count() > 1))
            foreach (var (i, _) in group)
                fail(i, "key", "The same key is given for more than one user in this request.", "duplicate_key");
        return hashes;
    }

    private static async Task RequireKeysUnusedAsync(MamaDbContext db, Dictionary<int, string> hashes, Action<int, string, string, string> fail, CancellationToken ct)
    {
        if (hashes.Count == 0) return;
        var wanted = hashes.Values.Distinct().ToList();
        var used = await db.KeyUsers.AsNoTracking().Where(u => wanted.Contains(u.KeyHash)).Select(u => u.KeyHash).ToListAsync(ct);
        foreach (var (i, hash) in hashes)
            if (used.Contains(hash)) fail(i, "key", "Another user already has this key.", "key_taken");
    }

    /// <summary>
    /// Ends a conflict: <c>replace</c> deletes the proxy's key under the alias and lets the sync create mama's (with a new
    /// value when the proxy holds the user's own value under another alias, which mama must not touch); <c>import</c> takes
    /// the proxy key's value from the admin, checked against the proxy's hash, and adopts it. Runs under the user's sync
    /// lease, so no sync or mint of the user is in flight while the alias's keys are read and deleted.
    /// </summary>
    public async Task<ResolveConflictResponse> ResolveAsync(string userId, ResolveConflictRequest request, Actor actor, CancellationToken ct)
    {
        userId = RequireUserId(userId);
        var action = request.Action?.Trim().ToLowerInvariant();
        if (action is not ("replace" or "import")) throw ProblemException.Validation("action", "Must be replace or import.");
        if (action == "import" && UserValidation.CheckKey(request.Key) is { } keyError) throw ProblemException.Validation("key", keyError, keyError.Code);
        if (action == "replace" && request.Key is not null) throw ProblemException.Validation("key", "Only an import takes a key.");

        async Task<ProblemException> FailAsync(int status, string reason, ProblemException problem)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.resolve", AuditResult.Failure, status, [userId], new { action }, reason), ct);
            return problem;
        }
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var id = await db.KeyUsers.Where(u => u.UserId == userId && u.DeletedAt == null).Select(u => (long?)u.Id).SingleOrDefaultAsync(ct);
        if (id is null) throw await FailAsync(404, "no such user", UserNotFound(userId));

        User user;
        await using (var lease = await leases.TryTakeUserAsync(id.Value, ct))
        {
            if (lease is null)
                throw await FailAsync(409, "being synced", ProblemException.Conflict($"User '{userId}' is being synced right now; nothing was changed. Try again shortly."));
            using var work = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
            // Read under the lease: a sync that finished meanwhile may have ended the conflict or stored a new key.
            user = await db.KeyUsers.SingleOrDefaultAsync(u => u.Id == id && u.DeletedAt == null, ct)
                ?? throw await FailAsync(404, "no such user", UserNotFound(userId));
            if (user.SyncState != SyncState.Conflict)
                throw await FailAsync(409, "not in conflict", ProblemException.Conflict($"User '{userId}' is not in conflict with the proxy (its sync state is {user.SyncState.Name()})."));
            object? detail = null;
            try
            {
                detail = await ResolveUnderLeaseAsync(user, action, request.Key, FailAsync, work.Token);
            }
            catch (OperationCanceledException) when (lease.IsLost && !ct.IsCancellationRequested)
            {
            }
            if (detail is null || lease.IsLost)
                throw await FailAsync(409, "sync lease lost", ProblemException.Conflict($"User '{userId}' was taken over by another worker; try again."));

            user.UpdatedAt = clock.GetUtcNow();
            user.UpdatedBy = actor.Name;
            user.Version++;
            NeedsSync(db, user, user.UpdatedAt);
            user.SyncError = null;
            audit.Stage(db, new AuditEntry(actor, "user.resolve", AuditResult.Success, 200, [user.UserId], detail));
            await SaveOrConflictAsync(db, ct);
        }

        var outcome = (await SyncInlineAsync([user], InlineDeadline())).SingleOrDefault() ?? new SyncOutcome(user.UserId, SyncOutcome.Pending);
        return new ResolveConflictResponse((await ResponsesAsync([user], ct)).Single(), outcome);
    }

    /// <summary>The proxy half of a resolve, and the user's new key where it takes one; returns the audit detail.</summary>
    private async Task<object> ResolveUnderLeaseAsync(User user, string action, string? suppliedKey,
        Func<int, string, ProblemException, Task<ProblemException>> failAsync, CancellationToken ct)
    {
        IReadOnlyList<string> onProxy;
        LiteLlmKey? ownKey;
        try
        {
            onProxy = (await liteLlm.KeysWithAliasAsync(user.UserId, ct)).Select(k => k.Token!).ToList();
            ownKey = onProxy.Contains(user.KeyHash) ? null : await liteLlm.GetKeyByHashAsync(user.KeyHash, ct);
        }
        catch (LiteLlmException e)
        {
            throw await failAsync(503, e.Message, ProblemException.Unavailable(e.Message));
        }
        // The user's own value under another alias, on a key mama does not manage: that key is someone else's.
        var heldElsewhere = ownKey is not null && !KeySync.MayAdopt(ownKey, user.UserId);

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
                throw await failAsync(503, e.Message, ProblemException.Unavailable(e.Message));
            }
            if (heldElsewhere) SetKey(user, KeyProtector.NewLiteLlmKey());
            return new { action, deleted_proxy_keys = deleted, new_key = heldElsewhere };
        }

        var key = suppliedKey!;
        var keyHash = LiteLlmClient.HashKey(key);
        if (onProxy.Count == 0 && heldElsewhere)
            throw await failAsync(409, "no key under the alias to import", ProblemException.Conflict(
                $"The proxy holds no key under the alias '{user.UserId}' to import; it holds this user's key under another alias. Replace gives the user a new key; nothing was changed."));
        if (!onProxy.Contains(keyHash))
            throw await failAsync(400, "key does not match the proxy's",
                ProblemException.Validation("key", $"This is not the key the proxy holds under the alias '{user.UserId}'; nothing was changed."));
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
            if (await db.KeyUsers.AnyAsync(u => u.KeyHash == keyHash && u.Id != user.Id, ct))
                throw await failAsync(409, "key held by another user", ProblemException.Conflict("Another user already has this key; nothing was changed."));
        SetKey(user, key);
        return new { action, key_supplied = true };
    }

    private void SetKey(User user, string key)
    {
        user.KeyCiphertext = protector.Protect(key, user.UserId);
        user.KeyEncryptionKeyId = protector.CurrentKeyId;
        user.KeyHash = LiteLlmClient.HashKey(key);
        user.KeyLastFour = key[^4..];
        user.KeyLiveAt = null; // a new value: live once the sync confirms it on the proxy
    }
}
