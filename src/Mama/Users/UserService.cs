using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Security;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Users;

/// <summary>
/// Users and their keys, for the REST API and the UI alike. Each change commits the desired state and its
/// audit events in one SaveChanges, then tries the LiteLLM sync inline; the reconciler finishes what is left.
/// Reads (list, one user, one key) are in UserService.Reads.cs.
/// </summary>
public sealed partial class UserService(
    IDbContextFactory<MamaDbContext> dbFactory,
    KeyProtector protector,
    KeySync sync,
    KeyReconciler reconciler,
    Leases leases,
    LiteLlmClient liteLlm,
    ModelCatalog models,
    AuditLog audit,
    IOptions<LiteLlmOptions> liteLlmOptions,
    TimeProvider clock,
    ILogger<UserService> logger,
    UserTableChanges? changes = null)
{
    public const string RetryShortlyReason = "Saved; the sync with LiteLLM will be retried shortly.";

    public async Task<UsersChangedResponse> CreateAsync(CreateUsersRequest request, Actor actor, CancellationToken ct)
    {
        var deadline = InlineDeadline();
        if (request.Users is null) throw ProblemException.Validation("users", "Give at least one user.");
        // NFC first, so that an ID typed decomposed is the one stored, and a decomposed and a composed copy are duplicates.
        IReadOnlyList<NewUserRequest?> rows = request.Users.Select(r => r is null ? null : r with { UserId = UserValidation.NormalizeUserId(r.UserId) }).ToList();
        if (rows.Count == 0) throw ProblemException.Validation("users", "Give at least one user.");
        if (rows.Count > RequestLimits.MaxUserIdsPerCall) throw ProblemException.Validation("users", $"At most {RequestLimits.MaxUserIdsPerCall} users per call; got {rows.Count}.");

        var errors = new Dictionary<string, string[]>();
        var codes = new Dictionary<string, string>();
        var values = new Dictionary<string, string>();
        void Fail(int i, string field, string message, string code, string? value = null)
        {
            errors[$"users[{i}].{field}"] = [message];
            codes[$"users[{i}].{field}"] = code;
            if (value is not null) values[$"users[{i}].{field}"] = value;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is not { } row) { errors[$"users[{i}]"] = ["Must be an object."]; continue; }
            if (UserValidation.CheckNewUserId(row.UserId, liteLlmOptions.Value.KeyAliasPattern) is { } idError) Fail(i, "user_id", idError, idError.Code);
            else if (!seen.Add(row.UserId!)) Fail(i, "user_id", $"'{row.UserId}' appears more than once in this request.", "duplicate_user_id");
            if (UserValidation.CheckOrganization(row.Organization) is { } orgError) Fail(i, "organization", orgError, orgError.Code);
            if (UserValidation.CheckExtraInfo(row.ExtraInfo) is { } infoError) Fail(i, "extra_info", infoError, infoError.Code);
            UserValidation.CheckNames(row.AllowedModels, $"users[{i}].allowed_models", errors, codes);
            UserValidation.CheckNames(row.AllowedServices, $"users[{i}].allowed_services", errors, codes);
            // Bringing a key adopts the proxy's key with that value: an admin's decision, never a script's (a leaked token must not take keys over).
            if (row.Key is not null && actor.IsApiClient) Fail(i, "key", "Only an admin may create a user with an existing key; leave key out and mama makes a new one.", "key_admins_only");
            else if (row.Key is not null && UserValidation.CheckKey(row.Key) is { } keyError) Fail(i, "key", keyError, keyError.Code);
            if (CheckExpiresAt(row.ExpiresAt, clear: false) is { } expiryError) Fail(i, "expires_at", expiryError, expiryError.Code);
        }
        var keyHashes = CheckSuppliedKeysUnique(rows, (i, f, m, c) => Fail(i, f, m, c));
        if (!request.AllowUnknownModels)
        {
            var unknown = await models.UnknownAsync(rows.SelectMany(r => r?.AllowedModels ?? []), deadline - clock.GetUtcNow(), ct);
            for (var i = 0; i < rows.Count; i++)
                if (rows[i]?.AllowedModels?.Where(unknown.Contains).ToList() is { Count: > 0 } bad && !errors.Keys.Any(k => k.StartsWith($"users[{i}].allowed_models", StringComparison.Ordinal)))
                    Fail(i, "allowed_models", "The proxy does not serve: " + string.Join(", ", bad.Distinct()) + " (set allow_unknown_models to keep them).", "unknown_model", string.Join(", ", bad.Distinct()));
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var ids = rows.Where(r => UserValidation.IsValidUserId(r?.UserId)).Select(r => r!.UserId!).Distinct().ToList();
        var existing = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).Select(u => new { u.UserId, u.DeletedAt }).ToListAsync(ct);
        var conflicts = existing.ToDictionary(e => e.UserId, e => e.DeletedAt is null ? ("already exists.", "user_exists") : ("is still being deleted from LiteLLM; try again shortly.", "user_being_deleted"));
        var invalid = errors.Count;
        await RequireKeysUnusedAsync(db, keyHashes, (i, f, m, c) => Fail(i, f, m, c), ct);
        var keysTaken = errors.Count > invalid;
        // A user ID or a key another user holds is a conflict with what exists (409), as a concurrent create that got there first is.
        var onlyConflicts = invalid == 0 && (conflicts.Count > 0 || keysTaken);
        for (var i = 0; i < rows.Count; i++)
            if (rows[i]?.UserId is { } id && conflicts.TryGetValue(id, out var why) && !errors.ContainsKey($"users[{i}].user_id"))
                Fail(i, "user_id", $"'{id}' {why.Item1}", why.Item2);
        if (errors.Count > 0)
        {
            var badRows = errors.Keys.Select(k => k[..(k.IndexOf(']') + 1)]).Distinct().Count();
            await audit.WriteAsync(new AuditEntry(actor, "user.create", AuditResult.Failure, onlyConflicts ? 409 : 400, ids,
                new { rows = rows.Count, invalid_rows = badRows }, "invalid rows"), ct);
            throw onlyConflicts
                ? new ProblemException(409, "Conflict", (conflicts.Count > 0, keysTaken) switch
                {
                    (true, true) => "Some users already exist and some keys belong to other users; nothing was created.",
                    (true, false) => "Some users already exist; nothing was created.",
                    _ => "Some keys belong to other users; nothing was created.",
                }, errors).WithCode("users_conflict").WithFieldCodes(codes).WithFieldValues(values)
                : new ProblemException(400, "Validation failed", $"{badRows} of {rows.Count} rows are invalid; nothing was created.", errors)
                    .WithCode("rows_invalid").WithFieldCodes(codes).WithFieldValues(values);
        }

        var now = clock.GetUtcNow();
        var created = rows.Select(r => r!).Select(row =>
        {
            var key = row.Key ?? KeyProtector.NewLiteLlmKey();
            // Born held by the inline sync's lease: no commit of its own to take it, and a crash leaves a lease that lapses.
            var lease = leases.ForNewUser();
            var user = new User
            {
                UserId = row.UserId!,
                Organization = row.Organization?.Trim() ?? "",
                ExtraInfo = row.ExtraInfo ?? "",
                KeyCiphertext = protector.Protect(key, row.UserId!),
                KeyEncryptionKeyId = protector.CurrentKeyId,
                KeyHash = LiteLlmClient.HashKey(key),
                KeyLastFour = key[^4..],
                CreatedAt = now,
                CreatedBy = actor.Name,
                UpdatedAt = now,
                UpdatedBy = actor.Name,
                SyncState = SyncState.Pending,
                NextSyncAt = ReconcilerTakesOverAt(now),
                ExpiresAt = row.ExpiresAt?.ToUniversalTime(),
                Version = 1,
                SyncLeaseOwner = lease.Token,
                SyncLeaseUntil = lease.Until,
            };
            user.SetModels(Distinct(row.AllowedModels));
            user.SetServices(Distinct(row.AllowedServices));
            audit.Stage(db, new AuditEntry(actor, "user.create", AuditResult.Success, 201, [user.UserId], new
            {
                organization = user.Organization,
                allowed_models = user.Models,
                allowed_services = user.Services,
                extra_info = user.ExtraInfo,
                key_supplied = row.Key is not null,
                expires_at = user.ExpiresAt,
            }));
            return user;
        }).ToList();
        db.KeyUsers.AddRange(created);
        WebhookOutbox.Stage(db, WebhookEvents.UserCreated, created.Select(u => u.UserId).ToList(), now);
        try
        {
            await SaveOrConflictAsync(db, ct);
        }
        catch (ProblemException conflict)
        {
            // Lost a race to a concurrent create: its staged success events went with the rollback.
            await audit.WriteAsync(new AuditEntry(actor, "user.create", AuditResult.Failure, conflict.Status, ids, new { rows = rows.Count }, "created concurrently"), ct);
            throw;
        }

        // A key mama made here was never sent anywhere: its first push needs no /key/info. A key an admin brought may be on the proxy.
        var made = rows.Select((row, i) => (row, i)).Where(x => x.row!.Key is null).Select(x => created[x.i].Id).ToHashSet();
        var outcomes = await SyncInlineAsync(created, deadline, made, created.ToDictionary(u => u.Id, u => new NewUserLease(u.SyncLeaseOwner!, u.SyncLeaseUntil!.Value)));
        return new UsersChangedResponse(await ResponsesAsync(created, ct), outcomes);
    }

    public async Task<EditUsersResponse> EditAsync(EditUsersRequest request, Actor actor, CancellationToken ct)
    {
        var deadline = InlineDeadline();
        var ids = UserValidation.RequireUserIds(request.UserIds);
        var errors = new Dictionary<string, string[]>();
        var codes = new Dictionary<string, string>();
        var values = new Dictionary<string, string>();
        void Fail(string field, FieldError error, string? value = null)
        {
            errors[field] = [error];
            codes[field] = error.Code;
            if (value is not null) values[field] = value;
        }
        if (UserValidation.CheckOrganization(request.Organization) is { } orgError) Fail("organization", orgError);
        if (UserValidation.CheckExtraInfo(request.ExtraInfo) is { } infoError) Fail("extra_info", infoError);
        var modelEdit = SetEdit.Parse(request.AllowedModels, "allowed_models", errors);
        var serviceEdit = SetEdit.Parse(request.AllowedServices, "allowed_services", errors);
        if (CheckExpiresAt(request.ExpiresAt, request.ClearExpiresAt) is { } expiryError) Fail("expires_at", expiryError);
        if (request.Organization is null && request.ExtraInfo is null && request.AllowedModels is null && request.AllowedServices is null && request.ExpiresAt is null && !request.ClearExpiresAt)
            errors["request"] = ["Say what to change: organization, extra_info, allowed_models, allowed_services, expires_at or clear_expires_at."];
        if (errors.Count == 0 && modelEdit is not null && !request.AllowUnknownModels)
        {
            var unknown = await models.UnknownAsync(modelEdit.Where(e => e.Mode != SetEditMode.Remove).SelectMany(e => e.Values), deadline - clock.GetUtcNow(), ct);
            var field = request.AllowedModels!.Mode is null ? "allowed_models.add" : "allowed_models.values";
            if (unknown.Count > 0)
                Fail(field, new("unknown_model", "The proxy does not serve: " + string.Join(", ", unknown) + " (set allow_unknown_models to keep them)."), string.Join(", ", unknown));
        }
        if (errors.Count > 0) throw ProblemException.Validation(errors, codes, values);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var users = await db.KeyUsers.Include(u => u.AllowedModels).Include(u => u.AllowedServices).AsSplitQuery()
            .Where(u => ids.Contains(u.UserId) && u.DeletedAt == null).ToListAsync(ct);
        await RequireAllFoundAsync(ids, users, actor, "user.update", ct);
        await RequireUnchangedMeanwhileAsync(request, users, ids, actor, ct);

        var now = clock.GetUtcNow();
        var changed = new List<UserChange>();
        var unchanged = new List<string>();
        var toSync = new List<User>();
        var position = ids.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i);
        foreach (var user in users.OrderBy(u => position[u.UserId]))
        {
            var changes = new Dictionary<string, FieldChange>();
            if (request.Organization is { } organization && organization.Trim() != user.Organization)
            {
                changes["organization"] = new FieldChange(user.Organization, organization.Trim());
                user.Organization = organization.Trim();
            }
            if (request.ExtraInfo is { } extraInfo && extraInfo != user.ExtraInfo)
            {
                changes["extra_info"] = new FieldChange(user.ExtraInfo, extraInfo);
                user.ExtraInfo = extraInfo;
            }
            if (ApplySetEdit(modelEdit, user.Models, user.SetModels) is { } models) changes["allowed_models"] = models;
            if (ApplySetEdit(serviceEdit, user.Services, user.SetServices) is { } services) changes["allowed_services"] = services;
            if (ApplyExpiry(request, user) is { } expiry) changes["expires_at"] = expiry;
            if (changes.Count == 0)
            {
                unchanged.Add(user.UserId);
                continue;
            }
            user.UpdatedAt = now;
            user.UpdatedBy = actor.Name;
            user.Version++;
            // Only what LiteLLM holds (models, organisation in metadata, blocked once expired) needs a sync; services and extra info live in mama alone.
            if (changes.ContainsKey("allowed_models") || changes.ContainsKey("organization") || Expired(changes.GetValueOrDefault("expires_at")?.Before, now))
            {
                NeedsSync(db, user, now);
                toSync.Add(user);
            }
            changed.Add(new UserChange(user.UserId, changes));
        }

        audit.Stage(db, new AuditEntry(actor, "user.update", AuditResult.Success, 200, ids, new
        {
            request = new { request.Organization, request.ExtraInfo, allowed_models = request.AllowedModels, allowed_services = request.AllowedServices, request.ExpiresAt, request.ClearExpiresAt },
            changed,
            unchanged,
        }));
        if (changed.Count > 0) WebhookOutbox.Stage(db, WebhookEvents.UserUpdated, changed.Select(c => c.UserId).ToList(), now);
        await SaveOrConflictAsync(db, ct);

        var outcomes = await SyncInlineAsync(toSync, deadline);
        return new EditUsersResponse(await ResponsesAsync(users, ct), changed, unchanged, outcomes);
    }

    /// <summary>The ID in NFC, as stored, or a 400.</summary>
    private static string RequireUserId(string? userId)
    {
        var id = UserValidation.NormalizeUserId(userId);
        return UserValidation.CheckUserId(id) is { } error ? throw ProblemException.Validation("user_id", error, error.Code) : id!;
    }

    /// <summary>The inline sync has the first go; the reconciler takes over only if it has not finished by then (a crash, say).</summary>
    private DateTimeOffset ReconcilerTakesOverAt(DateTimeOffset now) => now + liteLlmOptions.Value.InlineSyncBudget;

    /// <summary>
    /// Marks a changed user pending, writing the sync columns even when they look unchanged: a sync that recorded
    /// "synced" for the old version after this row was loaded must not survive the change.
    /// </summary>
    private void NeedsSync(MamaDbContext db, User user, DateTimeOffset now)
    {
        user.SyncState = SyncState.Pending;
        user.SyncAttempts = 0;
        user.NextSyncAt = ReconcilerTakesOverAt(now);
        var entry = db.Entry(user);
        entry.Property(u => u.SyncState).IsModified = true;
        entry.Property(u => u.NextSyncAt).IsModified = true;
    }

    /// <summary>A change answers by then whatever the proxy does: the model check and the inline sync share the budget.</summary>
    private DateTimeOffset InlineDeadline() => clock.GetUtcNow() + liteLlmOptions.Value.InlineSyncBudget;

    /// <summary>
    /// The change is committed before this runs, so nothing here may turn the answer into an error: a sync that
    /// fails, or whose result cannot be recorded, is logged and answered as pending, and the reconciler finishes it.
    /// </summary>
    private async Task<IReadOnlyList<SyncOutcome>> SyncInlineAsync(IReadOnlyList<User> users, DateTimeOffset deadline, IReadOnlySet<long>? fresh = null,
        IReadOnlyDictionary<long, NewUserLease>? born = null)
    {
        if (users.Count == 0) return [];
        try
        {
            // A client going away must not cut the sync short either, so only the budget limits it.
            var outcomes = await sync.SyncAsync(users.Select(u => u.Id).ToList(), deadline - clock.GetUtcNow(), CancellationToken.None, fresh: fresh, born: born);
            if (outcomes.Any(o => o.State is SyncOutcome.Pending or SyncOutcome.Failed)) reconciler.Wake();
            return outcomes;
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "The inline sync of {Count} committed users failed; the reconciler will finish it", users.Count);
            reconciler.Wake();
            return users.Select(u => new SyncOutcome(u.UserId, SyncOutcome.Pending, RetryShortlyReason)).ToList();
        }
    }

    private async Task RequireAllFoundAsync(IReadOnlyList<string> ids, List<User> found, Actor actor, string action, CancellationToken ct)
    {
        if (found.Count == ids.Count) return;
        var foundIds = found.Select(u => u.UserId).ToHashSet(StringComparer.Ordinal);
        var missing = ids.Where(id => !foundIds.Contains(id)).ToList();
        await audit.WriteAsync(new AuditEntry(actor, action, AuditResult.Failure, 404, ids, new { not_found = missing }, "unknown user IDs"), ct);
        throw new ProblemException(404, "Not found", $"{missing.Count} user IDs do not exist; nothing was changed: {string.Join(", ", missing.Take(50))}{(missing.Count > 50 ? ", …" : "")}.")
        {
            Extensions = { ["not_found"] = missing },
        };
    }

    /// <summary>Applies the set edits to one user's models or services; the change, or null when they were already as asked.</summary>
    private static FieldChange? ApplySetEdit(IReadOnlyList<SetEdit>? edits, IReadOnlyList<string> current, Action<IEnumerable<string>> set)
    {
        if (edits is null) return null;
        var after = SetEdit.ApplyAll(edits, current).ToList();
        if (current.SequenceEqual(after)) return null;
        var before = current.ToList();
        set(after);
        return new FieldChange(before, after);
    }

    /// <summary>
    /// An organisation or extra info edited from what the client saw applies only while that field is still as it saw it:
    /// a change made meanwhile by someone else is never overwritten unseen (unless it already is what this edit asks).
    /// </summary>
    private async Task RequireUnchangedMeanwhileAsync(EditUsersRequest request, List<User> users, IReadOnlyList<string> ids, Actor actor, CancellationToken ct)
    {
        var stale = users.SelectMany(u => new[]
        {
            request.ExpectedOrganization is { } organization && organization.Trim() != u.Organization && request.Organization?.Trim() != u.Organization
                ? $"the organisation of '{u.UserId}' (now \"{u.Organization}\")" : null,
            request.ExpectedExtraInfo is { } extraInfo && extraInfo != u.ExtraInfo && request.ExtraInfo != u.ExtraInfo ? $"the extra info of '{u.UserId}'" : null,
        }).OfType<string>().ToList();
        if (stale.Count == 0) return;
        await audit.WriteAsync(new AuditEntry(actor, "user.update", AuditResult.Failure, 409, ids, new { changed_meanwhile = stale.Count }, "changed by someone else meanwhile"), ct);
        throw ProblemException.Conflict($"Someone else changed {string.Join("; ", stale.Take(20))} meanwhile. Nothing was saved; reload to see the current values.");
    }

    private static List<string> Distinct(IEnumerable<string>? names) => SetEdit.Normalize(names);

    private static async Task SaveOrConflictAsync(MamaDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw ProblemException.Conflict("Some of these users were changed at the same time by someone else; nothing was changed. Try again.").WithCode("users_changed_meanwhile");
        }
        catch (DbUpdateException e) when (IsUniqueViolation(e) && e.InnerException!.Message.Contains(nameof(User.KeyHash), StringComparison.Ordinal))
        {
            // Names the column only: the database's own text may quote the hash, and the key never leaves mama in an error.
            throw ProblemException.Conflict("Another user got one of these keys at the same time; a key belongs to one user only. Nothing was changed.").WithCode("key_taken_meanwhile");
        }
        catch (DbUpdateException e) when (IsUniqueViolation(e))
        {
            throw ProblemException.Conflict("Some of these users were created at the same time by someone else; nothing was created. Try again.").WithCode("users_created_meanwhile");
        }
    }

    private static bool IsUniqueViolation(DbUpdateException e) =>
        e.InnerException?.Message.Contains("UNIQUE", StringComparison.OrdinalIgnoreCase) == true
        || e.InnerException?.Message.Contains("duplicate key", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The users as they are after the sync; if they cannot be read again, as they were committed.</summary>
    private async Task<List<UserResponse>> ResponsesAsync(IReadOnlyList<User> users, CancellationToken ct)
    {
        var ids = users.Select(u => u.Id).ToList();
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var rows = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, ct);
            return ids.Where(rows.ContainsKey).Select(id => ToResponse(rows[id])).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Reading back {Count} committed users failed; answering with the committed state", users.Count);
            return users.Select(ToResponse).ToList();
        }
    }
}
