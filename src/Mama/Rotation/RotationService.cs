using System.Security.Cryptography;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Rotation;

/// <summary>
/// Starts key rotations and reports their progress, for the API and the UI alike. Starting one commits, in one
/// transaction, each user's new key (encrypted, in the "next" slot), the operation and its items, and the
/// <c>key.rotate.start</c> event; the sync (<see cref="KeySync"/>) then makes each new key live, swaps it in, and
/// revokes the replaced key when its grace window ends.
/// </summary>
public sealed class RotationService(
    IDbContextFactory<MamaDbContext> dbFactory,
    KeyProtector protector,
    KeyReconciler reconciler,
    UserService userService,
    AuditLog audit,
    IOptions<RotationOptions> options,
    Observability.MamaMetrics metrics,
    TimeProvider clock)
{
    public const string Action = "key.rotate.start";

    public async Task<RotateResponse> StartAsync(RotateRequest request, Actor actor, CancellationToken ct, string trigger = RotationTriggers.Request)
    {
        var grace = CheckGrace(request.Grace);
        if (request.UserIds is not null && request.Filter is not null)
            throw ProblemException.BadRequest("Give either user_ids or filter, not both.");
        if (request.UserIds is null && request.Filter is null)
            throw ProblemException.BadRequest("Give user_ids, or a filter (an empty filter {} rotates every user).");
        var ids = request.UserIds is null ? null : UserValidation.RequireUserIds(request.UserIds);
        var errors = new Dictionary<string, string[]>();
        var sync = UserService.CheckSync(request.Filter?.Sync, errors);
        var rotating = UserService.CheckRotation(request.Filter?.Rotation, errors);
        // A blank filter value would be read as no filter, and rotate everyone under an audit entry that looks narrow.
        foreach (var (name, value) in new[] { ("search", request.Filter?.Search), ("organization", request.Filter?.Organization), ("model", request.Filter?.Model), ("service", request.Filter?.Service) })
            if (value is not null && string.IsNullOrWhiteSpace(value)) errors[name] = ["Leave the field out rather than blank: a blank value would match every user."];
        if (errors.Count > 0) throw ProblemException.Validation(errors.ToDictionary(e => "filter." + e.Key, e => e.Value));

        // 503 when the proxy's model list was never read: "holders of unavailable models" cannot be told then.
        var known = request.Filter?.UnavailableModels == true ? await userService.KnownModelsAsync(ct) : null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = ids is not null
            ? db.KeyUsers.Where(u => ids.Contains(u.UserId) && u.DeletedAt == null)
            : UserService.Filtered(db, request.Filter!.Search, request.Filter.Organization, request.Filter.Model, request.Filter.Service, sync, rotating, known);
        var users = await query.AsTracking().OrderBy(u => u.Id).ToListAsync(ct);
        var targets = users.ConvertAll(u => u.UserId);
        if (ids is not null && users.Count != ids.Count)
        {
            var found = targets.ToHashSet(StringComparer.Ordinal);
            var missing = ids.Where(id => !found.Contains(id)).ToList();
            await audit.WriteAsync(new AuditEntry(actor, Action, AuditResult.Failure, 404, ids, new { not_found = missing }, "unknown user IDs"), ct);
            throw new ProblemException(404, "Not found", $"{missing.Count} user IDs do not exist; nothing was rotated: {string.Join(", ", missing.Take(50))}{(missing.Count > 50 ? ", …" : "")}.")
            {
                Extensions = { ["not_found"] = missing },
            };
        }
        var now = clock.GetUtcNow();
        var automatic = trigger != RotationTriggers.Request;
        var skipped = new List<SkippedUser>();
        if (ids is not null)
        {
            if (users.FirstOrDefault(u => u.RotationId is not null) is { } running)
            {
                var busy = users.Where(u => u.RotationId is not null).Select(u => u.UserId).ToList();
                await audit.WriteAsync(new AuditEntry(actor, Action, AuditResult.Failure, 409, targets, new { rotating = busy, rotation_id = running.RotationId }, "already rotating"), ct);
                throw RotatingConflict(running.RotationId!, busy);
            }
            if (users.Where(u => u.SyncState == SyncState.Conflict).Select(u => u.UserId).ToList() is { Count: > 0 } inConflict)
            {
                await audit.WriteAsync(new AuditEntry(actor, Action, AuditResult.Failure, 409, targets, new { conflict = inConflict }, "in conflict"), ct);
                throw new ProblemException(409, "Conflict", $"{inConflict.Count} of these users are in conflict with the proxy; resolve that first: {string.Join(", ", inConflict.Take(20))}{(inConflict.Count > 20 ? ", …" : "")}.")
                {
                    Extensions = { ["conflict"] = inConflict },
                };
            }
        }
        else
        {
            // "Everyone matching" goes on past the users it cannot rotate now, and says which: an incident re-key must not
            // wait for one stale rotation. A user in conflict holds a key mama may not own; an admin resolves it first.
            foreach (var user in users)
                if (user.RotationId is not null) skipped.Add(new SkippedUser(user.UserId, "already_rotating"));
                else if (user.SyncState == SyncState.Conflict) skipped.Add(new SkippedUser(user.UserId, "conflict"));
                else if (automatic && user.ExpiresAt <= now) skipped.Add(new SkippedUser(user.UserId, "expired"));
            if (skipped.Count > 0)
            {
                var left = skipped.Select(x => x.UserId).ToHashSet(StringComparer.Ordinal);
                users.RemoveAll(u => left.Contains(u.UserId));
                targets = users.ConvertAll(u => u.UserId);
            }
        }
        var skippedShown = skipped.Count == 0 ? null : skipped.Take(1000).ToList();
        if (request.ExpectedTotal is { } expected && expected != users.Count)
        {
            await audit.WriteAsync(new AuditEntry(actor, Action, AuditResult.Failure, 409, targets.Count <= 1000 ? targets : [], new { total = users.Count, expected_total = expected }, "selection changed"), ct);
            throw new ProblemException(409, "Conflict", $"The selection holds {users.Count} users now, not the {expected} confirmed; nothing was rotated. Check it and confirm again.")
            {
                Extensions = { ["total"] = users.Count },
            };
        }
        if (request.DryRun)
        {
            await audit.WriteAsync(new AuditEntry(actor, "key.rotate.dry_run", AuditResult.Success, 200, targets.Count <= 1000 ? targets : [], new { total = users.Count, skipped = skipped.Count, grace = GraceParser.Format(grace) }), ct);
            return new RotateResponse(null, users.Count, grace, DryRun: true, null, skippedShown);
        }
        if (users.Count == 0) throw ProblemException.BadRequest(skipped.Count > 0 ? $"No user to rotate: the {skipped.Count} matching are rotating already or in conflict." : "No user matches; nothing was rotated.");

        var rotation = new KeyRotation { Id = NewId(), CreatedAt = now, CreatedBy = actor.Name, Grace = grace, Trigger = trigger, Total = users.Count };
        db.KeyRotations.Add(rotation);
        foreach (var user in users)
        {
            var key = KeyProtector.NewLiteLlmKey();
            user.NextKeyCiphertext = protector.Protect(key, user.UserId);
            user.NextKeyEncryptionKeyId = protector.CurrentKeyId;
            user.NextKeyHash = LiteLlmClient.HashKey(key);
            user.NextKeyLastFour = key[^4..];
            user.RotationId = rotation.Id;
            user.RotationGrace = grace;
            // An admin rotating an expired key unblocks it: the new key starts a new life. Automatic rotations never do.
            if (!automatic && user.ExpiresAt <= now) user.ExpiresAt = null;
            user.SyncState = SyncState.Pending;
            user.SyncError = null;
            user.SyncAttempts = 0;
            user.NextSyncAt = now;
            user.Version++;
            db.KeyRotationItems.Add(new KeyRotationItem { RotationId = rotation.Id, UserDbId = user.Id, UserId = user.UserId });
        }
        audit.Stage(db, new AuditEntry(actor, Action, AuditResult.Success, 202, targets,
            new { rotation_id = rotation.Id, grace = GraceParser.Format(grace), total = users.Count, trigger }));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Another request changed or started rotating one of these users between the read and this write.
            await audit.WriteAsync(new AuditEntry(actor, Action, AuditResult.Failure, 409, targets, new { total = users.Count }, "changed meanwhile"), ct);
            await using var again = await dbFactory.CreateDbContextAsync(CancellationToken.None);
            var userIds = users.ConvertAll(u => u.Id);
            var other = await again.KeyUsers.AsNoTracking().Where(u => userIds.Contains(u.Id) && u.RotationId != null)
                .Select(u => new { u.UserId, u.RotationId }).ToListAsync(CancellationToken.None);
            throw other.Count > 0
                ? RotatingConflict(other[0].RotationId!, other.ConvertAll(o => o.UserId))
                : ProblemException.Conflict("Some of these users changed while the rotation was being started; nothing was rotated. Try again.");
        }
        metrics.RotationStarted(trigger);
        reconciler.Wake();
        return new RotateResponse(rotation.Id, users.Count, grace, DryRun: false, $"/api/v1/rotations/{rotation.Id}", skippedShown);
    }

    public async Task<RotationProgress> GetAsync(string rotationId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rotation = await db.KeyRotations.AsNoTracking().SingleOrDefaultAsync(r => r.Id == rotationId, ct)
                       ?? throw ProblemException.NotFound($"No rotation '{rotationId}'.");
        var counts = await RotationCounts.ForAsync(db, rotationId, ct);
        var failures = await db.KeyRotationItems.AsNoTracking().Where(i => i.RotationId == rotationId && i.State == RotationItemStates.Failed)
            .OrderBy(i => i.UserId).Take(100).Select(i => new RotationFailure(i.UserId, i.State, i.Error)).ToListAsync(ct);
        DateTimeOffset? finishedAt = counts.Finished
            ? await db.KeyRotationItems.Where(i => i.RotationId == rotationId).MaxAsync(i => i.RevokedAt ?? i.LiveAt, ct)
            : null;
        return new RotationProgress(rotation.Id, rotation.CreatedAt, rotation.CreatedBy, rotation.Trigger, rotation.Grace,
            rotation.Total, counts.Pending, counts.Live + counts.Revoked, counts.Revoked, counts.Failed, counts.Skipped, failures, counts.Finished, finishedAt);
    }

    private TimeSpan CheckGrace(string? text)
    {
        if (text is null) return options.Value.DefaultGrace;
        if (!GraceParser.TryParse(text, out var grace))
            throw ProblemException.Validation("grace", "Must be a duration: 0, ISO 8601 (PT24H), hh:mm:ss, or a number with s, m, h or d (24h).");
        if (grace > options.Value.MaxGrace)
            throw ProblemException.Validation("grace", $"At most {GraceParser.Format(options.Value.MaxGrace)} (Mama:Rotation:MaxGrace).");
        return grace;
    }

    public static ProblemException RotatingConflict(string rotationId, IReadOnlyList<string> userIds) =>
        new(409, "Conflict", $"{userIds.Count} of these users are being rotated by {rotationId} already: {string.Join(", ", userIds.Take(20))}{(userIds.Count > 20 ? ", …" : "")}. Wait for it to finish.")
        {
            Extensions = { ["rotation_id"] = rotationId, ["rotating"] = userIds },
        };

    private static string NewId() => "rot_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(13));
}
