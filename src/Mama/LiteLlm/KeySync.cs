using System.Collections.Concurrent;
using Mama.Data;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

public sealed record SyncOutcome(string UserId, string State, string? Error = null)
{
    public const string Synced = "synced";
    public const string Pending = "pending";
    public const string Failed = "error";
    public const string Deleted = "deleted";
    public const string Conflict = "conflict";
}

/// <summary>One drift repair: what was done to the user's key and which fields differed; <see cref="Error"/> when it failed.</summary>
public sealed record RepairOutcome(string UserId, string Repair, IReadOnlyList<string> Differences, int Status = 200, string? Error = null);

/// <summary>
/// Brings LiteLLM to the state the database holds, one user at a time, idempotently: ensure the key
/// (info → generate with mama's own key value, or update) or ensure it is gone (delete, "not found" = done).
/// Each user is pushed under its own short lease (<see cref="Leases"/>), taken just before the push and renewed
/// while it runs; the desired state pushed is the one read under the lease, and the result is recorded, per
/// user as it finishes (synced ones in shared commits, <see cref="SyncRecords"/>), only by the lease's holder and
/// only for the version it pushed.
/// </summary>
public sealed partial class KeySync(
    IDbContextFactory<MamaDbContext> dbFactory,
    LiteLlmClient liteLlm,
    KeyProtector protector,
    KeyMinting minting,
    KeyRotationSteps rotation,
    Leases leases,
    ProxyCalls calls,
    SyncRecords records,
    IOptions<LiteLlmOptions> options,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<KeySync> logger)
{
    /// <summary>A user changed again while it was pushed: push the new state under the same lease, a few times at most.</summary>
    private const int MaxRounds = 4;

    /// <summary>
    /// Users a run of this instance has queued and not yet finished. A run that is not forced leaves them to it: the
    /// reconciler must not push, with a /key/info first, the new users a create's inline run (past its budget) still has queued.
    /// </summary>
    private readonly ConcurrentDictionary<long, byte> _queued = new();

    /// <summary>
    /// Syncs the users now with bounded concurrency and waits at most <paramref name="budget"/>: what is not done by
    /// then is reported pending, and its push carries on in the background (holding its lease, recording its own
    /// result) until this instance stops; the reconciler picks up whatever is left.
    /// <paramref name="fresh"/>: users the caller has just created with a key mama made, never pushed anywhere, so
    /// their first push skips the <c>/key/info</c> (see <see cref="IsUntouched"/>). <paramref name="born"/>: users the caller
    /// inserted already holding these leases (<see cref="Leases.ForNewUser"/>), which their push adopts instead of taking one.
    /// </summary>
    public async Task<IReadOnlyList<SyncOutcome>> SyncAsync(IReadOnlyCollection<long> ids, TimeSpan budget, CancellationToken ct, bool force = false,
        IReadOnlySet<long>? fresh = null, IReadOnlyDictionary<long, NewUserLease>? born = null)
    {
        var outcomes = new ConcurrentDictionary<long, SyncOutcome>();
        var work = RunAllAsync(ids, outcomes, force, fresh, born, ct);
        if (budget == Timeout.InfiniteTimeSpan)
        {
            await work;
        }
        else
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            await Task.WhenAny(work, Task.Delay(budget < TimeSpan.Zero ? TimeSpan.Zero : budget, clock, wait.Token));
            await wait.CancelAsync();
        }
        ct.ThrowIfCancellationRequested();

        var result = new List<SyncOutcome>();
        List<long>? unknown = null;
        foreach (var id in ids)
            if (outcomes.TryGetValue(id, out var outcome)) result.Add(outcome);
            else (unknown ??= []).Add(id);
        if (unknown is not null)
            result.AddRange(await PendingAsync(unknown, InProgressReason));
        return result;
    }

    public async Task<SyncOutcome> SyncOneAsync(long id, CancellationToken ct) =>
        (await SyncAsync([id], Timeout.InfiniteTimeSpan, ct, force: true)).SingleOrDefault() ?? new SyncOutcome("", SyncOutcome.Deleted);

    private async Task RunAllAsync(IReadOnlyCollection<long> ids, ConcurrentDictionary<long, SyncOutcome> outcomes, bool force, IReadOnlySet<long>? fresh,
        IReadOnlyDictionary<long, NewUserLease>? born, CancellationToken ct)
    {
        // Stopping the instance ends the pushes that outlived their request; their leases lapse or are released.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        var queued = ids.Where(id => _queued.TryAdd(id, 0)).ToList();
        var mine = queued.ToHashSet();
        try
        {
            var inFlight = calls.InFlightFor(options.Value.MaxConcurrency);
            await Parallel.ForEachAsync(force ? ids : queued, new ParallelOptions { MaxDegreeOfParallelism = inFlight, CancellationToken = stop.Token },
                async (id, token) =>
                {
                    try
                    {
                        if (await SyncUserAsync(id, force, fresh?.Contains(id) == true, born?.GetValueOrDefault(id), token) is { } outcome) outcomes[id] = outcome;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // One user's database error must not stop the others; this one stays pending for the reconciler.
                        logger.LogWarning(e, "Syncing user {Id} failed", id);
                    }
                    finally
                    {
                        if (mine.Contains(id)) _queued.TryRemove(id, out _);
                    }
                });
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Syncing {Count} users failed", ids.Count);
        }
        finally
        {
            foreach (var id in queued) _queued.TryRemove(id, out _);
        }
    }

    /// <summary>One user under its lease; null when the row is gone without this worker having deleted it.</summary>
    private async Task<SyncOutcome?> SyncUserAsync(long id, bool force, bool fresh, NewUserLease? born, CancellationToken ct)
    {
        await using var lease = born is null ? await leases.TryTakeUserAsync(id, ct) : await leases.AdoptUserAsync(id, born, ct);
        if (lease is null)
            return (await PendingAsync([id], BusyReason)).SingleOrDefault();
        using var work = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
        long? swapped = null; // the version whose swap this worker just recorded: its new key is on the proxy as specified
        for (var round = 1; ; round++)
        {
            var user = await ReadAsync(id, ct);
            if (user is null) return null;
            if (!force && user.SyncState == SyncState.Synced && user.DeletedAt is null && user.NextKeyHash is null && !RevocationDue(user))
                return new SyncOutcome(user.UserId, SyncOutcome.Synced); // another worker finished it before this one took the lease
            // A user in conflict waits for an admin; only the revocation of its replaced key goes on.
            if (!force && user.SyncState == SyncState.Conflict && user.DeletedAt is null && !RevocationDue(user))
                return new SyncOutcome(user.UserId, SyncOutcome.Conflict, user.SyncError);

            Result result;
            try
            {
                result = await PushAsync(user, lease.Token, work.Token, justSwapped: user.Version == swapped, keyAbsent: fresh && round == 1 && IsUntouched(user));
            }
            catch (OperationCanceledException) when (lease.IsLost && !ct.IsCancellationRequested)
            {
                return new SyncOutcome(user.UserId, SyncOutcome.Pending, LeaseLostReason);
            }
            if (lease.IsLost) return new SyncOutcome(user.UserId, SyncOutcome.Pending, LeaseLostReason);

            var (outcome, held) = await RecordAsync(user, lease.Token, result, force);
            swapped = result.Kind == ResultKind.Swapped ? user.Version : null;
            if (outcome is not null || !held)
            {
                lease.MarkReleased();
                return outcome ?? new SyncOutcome(user.UserId, SyncOutcome.Pending, LeaseLostReason);
            }
            if (round == MaxRounds)
                return new SyncOutcome(user.UserId, SyncOutcome.Pending, ChangedAgainReason);
        }
    }

    private async Task<User?> ReadAsync(long id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.KeyUsers.AsNoTracking().SingleOrDefaultAsync(u => u.Id == id, ct);
    }

    private async Task<List<SyncOutcome>> PendingAsync(IReadOnlyCollection<long> ids, string why)
    {
        await using var db = await dbFactory.CreateDbContextAsync(CancellationToken.None);
        var names = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.UserId);
        return ids.Where(names.ContainsKey).Select(id => new SyncOutcome(names[id], SyncOutcome.Pending, why)).ToList();
    }

    /// <summary>
    /// The row as its create left it: never pushed with a result (no attempt, no sync, no live key), no mint begun, no
    /// rotation, no edit. With the caller's word that mama made its key in that very create, the proxy cannot hold the
    /// key yet; should it anyway (a push whose result was lost), the generate's "already exists" reads it then.
    /// </summary>
    private static bool IsUntouched(User user) =>
        user.Version == 1 && user.SyncAttempts == 0 && user.LastSyncedAt is null && user.KeyLiveAt is null && user.MintRequestedAt is null
        && user.NextKeyHash is null && user.PreviousKeyHash is null && user.DeletedAt is null;

    /// <summary>The user's replaced key has reached the end of its grace window.</summary>
    private bool RevocationDue(User user) => user.PreviousKeyExpiresAt <= clock.GetUtcNow();

    /// <summary>Swapped: a rotation's new key is live and becomes current. Revoked: the replaced key is gone.</summary>
    private enum ResultKind { Synced, Deleted, Failed, Conflict, Swapped, Revoked }

    /// <summary>Said on the user in words; the proxy's own message would name only the alias.</summary>
    public const string ConflictReason = "The proxy holds another key under this alias; resolve by replacing it with mama's key or importing its value.";

    public const string UndecryptableReason = "The stored key cannot be decrypted with the configured encryption keys.";
    public const string LeaseLostReason = "The sync lease was lost; its new holder finishes this user.";
    public const string BusyReason = "Another worker is syncing this user.";
    public const string InProgressReason = "Still in progress; its result is recorded when the proxy answers.";
    public const string ChangedAgainReason = "Changed again while it was being synced; it is pushed again shortly.";

    /// <summary>Said on the user in words when the proxy holds the user's own key value under another alias.</summary>
    public const string HeldElsewhereReason = "The proxy holds this key under another alias; mama changed nothing there. Resolve by replacing it: mama gives the user a new key.";

    /// <summary>
    /// Whether mama may take over a key it found by its value: a key it manages already (its own, perhaps renamed in
    /// LiteLLM's UI), or one under the user's alias (adoption). A key under another alias, or under none, is
    /// someone else's: knowing its value is no right to rewrite its alias, owner and models.
    /// </summary>
    public static bool MayAdopt(LiteLlmKey key, string alias) => key.IsManagedByMama || key.KeyAlias == alias;

    /// <summary>
    /// LiteLLM's answer to a generate whose alias another key holds: 400 "Key with alias '…' already exists. Unique key
    /// aliases across all keys are required." (key_management_endpoints.py, _enforce_unique_key_alias).
    /// </summary>
    public static bool IsAliasTaken(LiteLlmException e) =>
        e.Status == 400 && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase) && e.Message.Contains("alias", StringComparison.OrdinalIgnoreCase);

    /// <param name="At">The time the pushed spec was computed for (expiry): what the record writes as <c>LastSyncedAt</c>.</param>
    private sealed record Result(ResultKind Kind, bool Transient = false, string? Error = null, DateTimeOffset? At = null);

    /// <summary>
    /// The HTTP half of one user's sync: no database writes. <paramref name="justSwapped"/>: the current key was made to spec just now.
    /// <paramref name="keyAbsent"/>: the proxy cannot hold the current key yet, so it is created without asking first.
    /// </summary>
    private async Task<Result> PushAsync(User user, string leaseToken, CancellationToken ct, bool justSwapped = false, bool keyAbsent = false)
    {
        try
        {
            if (user.DeletedAt is not null)
            {
                // Every key the user has: a rotation's new key and the replaced one as well as the current one.
                foreach (var hash in new[] { user.KeyHash, user.NextKeyHash, user.PreviousKeyHash }.OfType<string>())
                    await liteLlm.DeleteKeyByHashAsync(hash, ct);
                await minting.RemoveUnfinishedAsync(user, ct);
                return new Result(ResultKind.Deleted);
            }
            var at = clock.GetUtcNow();
            var spec = SpecOf(user, at, options.Value);
            // A replaced key is revoked first, as a step of its own: at the end of its window whatever else fails (the
            // current key's push, a conflict), and before a new rotation moves the current key into its slot.
            if (user.PreviousKeyHash is { } previous && (RevocationDue(user) || user.NextKeyHash is not null))
            {
                await rotation.RevokeAsync(previous, ct);
                return new Result(ResultKind.Revoked, At: at);
            }
            if (user.NextKeyHash is not null)
            {
                await rotation.AdvanceAsync(user, leaseToken, spec, ct);
                return new Result(ResultKind.Swapped, At: at);
            }
            if (!justSwapped)
                await EnsureOrMintAsync(user, protector.Unprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId), leaseToken, spec, ct, absent: keyAbsent);
            // During the grace, the replaced key gets every edit too.
            if (user.PreviousKeyHash is { } replaced) await rotation.UpdatePreviousAsync(replaced, spec, ct);
            return new Result(ResultKind.Synced, At: at);
        }
        catch (KeyHeldElsewhereException)
        {
            logger.LogWarning("Sync of user {UserId}: the proxy holds its key under another alias", user.UserId);
            return new Result(ResultKind.Conflict, Error: HeldElsewhereReason);
        }
        catch (LiteLlmException e) when (IsAliasTaken(e))
        {
            // Nothing was changed on the proxy; pushing again would only meet the same key, so an admin decides.
            logger.LogWarning("Sync of user {UserId}: the proxy holds another key under its alias", user.UserId);
            return new Result(ResultKind.Conflict, Error: ConflictReason);
        }
        catch (LiteLlmException e)
        {
            // A first transient failure is news; retries are not, and a permanent one gets its own line as the user enters error.
            logger.Log(user.SyncAttempts == 0 && e.Transient ? LogLevel.Warning : LogLevel.Debug, "Sync of user {UserId} failed (attempt {Attempts}): {Reason}", user.UserId, user.SyncAttempts + 1, e.Message);
            return new Result(ResultKind.Failed, e.Transient, e.Message);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return new Result(ResultKind.Failed, false, "The stored key cannot be decrypted with the configured encryption keys.");
        }
    }

    /// <summary>
    /// Records one result as soon as it can (a synced one in the next shared commit, <see cref="SyncRecords"/>), so
    /// progress shows user by user. The write holds only while this worker holds the lease and the user's version is
    /// the one pushed; it also releases the lease. No outcome with the lease still held means the user changed
    /// meanwhile: the caller pushes again. Not held: the result is dropped for the holder.
    /// </summary>
    private async Task<(SyncOutcome? Outcome, bool Held)> RecordAsync(User user, string token, Result result, bool force)
    {
        var none = CancellationToken.None; // the push happened: its outcome is recorded even if the caller gave up
        var (id, version, now) = (user.Id, user.Version, clock.GetUtcNow());
        await using var db = await dbFactory.CreateDbContextAsync(none);
        var mine = db.KeyUsers.Where(u => u.Id == id && u.SyncLeaseOwner == token && u.Version == version);
        SyncOutcome outcome;
        int recorded;
        if (result.Kind == ResultKind.Swapped)
        {
            // No grace: the lease is kept, and the caller's next round revokes the replaced key at once.
            var revokeNow = user.RotationGrace is not { } grace || grace <= TimeSpan.Zero;
            if (await rotation.RecordSwapAsync(user, token, keepLease: revokeNow, result.At))
                return revokeNow ? (null, true) : (new SyncOutcome(user.UserId, SyncOutcome.Synced), true);
            recorded = 0;
            outcome = new SyncOutcome(user.UserId, SyncOutcome.Synced);
        }
        else if (result.Kind == ResultKind.Revoked)
        {
            // A synced user needs nothing else (unless forced, which pushes its current key too): the record releases the
            // lease. Otherwise it is kept, and the caller's next round pushes whatever else the user needs (its current key, a rotation).
            var done = !force && user.DeletedAt is null && user.SyncState == SyncState.Synced && user.NextKeyHash is null;
            if (await rotation.RecordRevokedAsync(user, token, release: done))
                return done ? (new SyncOutcome(user.UserId, SyncOutcome.Synced), true) : (null, true);
            recorded = 0;
            outcome = new SyncOutcome(user.UserId, SyncOutcome.Synced);
        }
        else if (result.Kind == ResultKind.Deleted)
        {
            recorded = await mine.ExecuteDeleteAsync(none);
            if (recorded == 1) await rotation.RecordDeletedAsync(id);
            outcome = new SyncOutcome(user.UserId, SyncOutcome.Deleted);
        }
        else if (result.Kind == ResultKind.Synced)
        {
            recorded = await records.SyncedAsync(id, token, version, result.At ?? now, now) ? 1 : 0;
            outcome = new SyncOutcome(user.UserId, SyncOutcome.Synced);
        }
        else if (result.Kind == ResultKind.Conflict)
        {
            recorded = await mine.ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, SyncState.Conflict)
                .SetProperty(u => u.SyncError, result.Error)
                .SetProperty(u => u.SyncAttempts, user.SyncAttempts + 1)
                .SetProperty(u => u.NextSyncAt, (DateTimeOffset?)null)
                .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none);
            outcome = new SyncOutcome(user.UserId, SyncOutcome.Conflict, result.Error);
            if (recorded == 1) await rotation.RecordFailureAsync(user, result.Error!, permanent: true);
        }
        else
        {
            var attempts = user.SyncAttempts + 1;
            var state = result.Transient ? SyncState.Pending : SyncState.Error;
            var message = result.Error!.Length > 1000 ? result.Error[..1000] : result.Error;
            recorded = await mine.ExecuteUpdateAsync(s => s
                .SetProperty(u => u.SyncState, state)
                .SetProperty(u => u.SyncError, message)
                .SetProperty(u => u.SyncAttempts, attempts)
                .SetProperty(u => u.NextSyncAt, now + Backoff(attempts))
                .SetProperty(u => u.SyncLeaseOwner, (string?)null)
                .SetProperty(u => u.SyncLeaseUntil, (DateTimeOffset?)null), none);
            outcome = new SyncOutcome(user.UserId, state == SyncState.Error ? SyncOutcome.Failed : SyncOutcome.Pending, message);
            if (recorded == 1 && state == SyncState.Error && user.SyncState != SyncState.Error)
                logger.LogWarning("User {UserId} is in error: the proxy refused its key ({Reason}); an admin's edit or a retry from the UI is needed", user.UserId, message);
            if (recorded == 1) await rotation.RecordFailureAsync(user, message, permanent: !result.Transient);
        }
        if (recorded == 1) return (outcome, true);
        var held = await db.KeyUsers.AnyAsync(u => u.Id == id && u.SyncLeaseOwner == token, none);
        return (null, held);
    }

    /// <summary>
    /// LiteLLM reads an empty model list as "all models"; mama means "none", so such a key is sent blocked, as is a key
    /// whose end date has passed at <paramref name="now"/>. Without <paramref name="options"/> the spec has the default
    /// owner and no key type (enough to compare, not to create).
    /// </summary>
    public static KeySpec SpecOf(User user, DateTimeOffset now, LiteLlmOptions? options = null) => new(
        user.UserId, user.Models, user.Organization, Blocked: user.Models.Count == 0 || user.ExpiresAt <= now,
        Owner: KeyOwners.OwnerOf(options?.KeyOwner ?? KeyOwners.User, user.UserId),
        KeyType: string.IsNullOrEmpty(options?.KeyType) ? null : options.KeyType);

    /// <summary>Exponential backoff with ±20 % jitter, so retries of many users spread out.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var o = options.Value;
        var delay = o.InitialBackoff * Math.Pow(2, Math.Min(attempts - 1, 20));
        if (delay > o.MaxBackoff) delay = o.MaxBackoff;
        return delay * (0.8 + Random.Shared.NextDouble() * 0.4);
    }
}

/// <summary>The proxy holds the user's key value under another alias and mama does not manage it: nothing is changed there.</summary>
public sealed class KeyHeldElsewhereException() : LiteLlmException(KeySync.HeldElsewhereReason, 409, transient: false);
