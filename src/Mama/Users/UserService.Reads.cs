using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Security;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>The reads: the list (searched, filtered, sorted, paged), one user, and one user's key. Each is audited.</summary>
public sealed partial class UserService
{
    public const int MaxPageSize = 500;

    public async Task<UserPage> ListAsync(UserQuery query, Actor actor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var paging = Paging.Check(query.Page, query.PageSize, MaxPageSize, errors);
        var (page, pageSize) = paging;
        var descending = query.Order?.ToLowerInvariant() switch
        {
            null or "" or "asc" => false,
            "desc" => true,
            _ => (bool?)null,
        };
        if (descending is null) errors["order"] = ["Must be asc or desc."];
        if (query.Sort is { Length: > 0 } sort && sort is not ("user_id" or "organization" or "created_at" or "updated_at"))
            errors["sort"] = ["Must be user_id, organization, created_at or updated_at."];
        var syncFilter = CheckSync(query.Sync, errors);
        var rotating = CheckRotation(query.Rotation, errors);
        if (errors.Count > 0) throw ProblemException.Validation(errors);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var users = Filtered(db, query.Search, query.Organization, query.Model, query.Service, syncFilter, rotating);

        var total = await users.CountAsync(ct);
        users = (query.Sort, descending) switch
        {
            ("organization", false) => users.OrderBy(u => u.Organization).ThenBy(u => u.UserId),
            ("organization", true) => users.OrderByDescending(u => u.Organization).ThenBy(u => u.UserId),
            ("created_at", false) => users.OrderBy(u => u.CreatedAt).ThenBy(u => u.Id),
            ("created_at", true) => users.OrderByDescending(u => u.CreatedAt).ThenByDescending(u => u.Id),
            ("updated_at", false) => users.OrderBy(u => u.UpdatedAt).ThenBy(u => u.Id),
            ("updated_at", true) => users.OrderByDescending(u => u.UpdatedAt).ThenByDescending(u => u.Id),
            (_, true) => users.OrderByDescending(u => u.UserId),
            _ => users.OrderBy(u => u.UserId),
        };
        var items = (await users.Skip(paging.Offset).Take(pageSize).ToListAsync(ct)).Select(ToResponse).ToList();

        await audit.WriteAsync(new AuditEntry(actor, "user.list", AuditResult.Success, 200, items.Select(i => i.UserId).ToList(),
            new { query.Search, query.Organization, query.Model, query.Service, query.Sync, query.Rotation, page, page_size = pageSize, total }), ct);
        return new UserPage(items, total, page, pageSize);
    }

    /// <summary>404 with the code "user_not_found" and the ID as "user_id", for the UI to say in the admin's language.</summary>
    private static ProblemException UserNotFound(string userId)
    {
        var problem = ProblemException.NotFound($"No user '{userId}'.").WithCode("user_not_found");
        problem.Extensions["user_id"] = userId;
        return problem;
    }

    /// <summary>One user as lists show it (the key as a preview): what an edit dialog reloads.</summary>
    public async Task<UserResponse> GetAsync(string userId, Actor actor, CancellationToken ct)
    {
        userId = UserValidation.NormalizeUserId(userId)!;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.KeyUsers.AsNoTracking().SingleOrDefaultAsync(u => u.UserId == userId && u.DeletedAt == null, ct);
        await audit.WriteAsync(user is null
            ? new AuditEntry(actor, "user.read", AuditResult.Failure, 404, [userId], Reason: "no such user")
            : new AuditEntry(actor, "user.read", AuditResult.Success, 200, [userId]), ct);
        return user is null ? throw UserNotFound(userId) : ToResponse(user);
    }

    /// <summary>One user with the full key: a key disclosure, audited before the answer goes out.</summary>
    public async Task<UserResponse> GetWithKeyAsync(string userId, Actor actor, CancellationToken ct)
    {
        userId = RequireUserId(userId);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.KeyUsers.AsNoTracking().SingleOrDefaultAsync(u => u.UserId == userId && u.DeletedAt == null, ct);
        if (user is null)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.read_key", AuditResult.Failure, 404, [userId], Reason: "no such user"), ct);
            throw UserNotFound(userId);
        }
        if (protector.TryUnprotect(user.KeyCiphertext, user.KeyEncryptionKeyId, user.UserId) is not { } key)
        {
            await audit.WriteAsync(new AuditEntry(actor, "user.read_key", AuditResult.Failure, 409, [userId], Reason: KeyProtector.KeyUnreadable), ct);
            throw KeyProtector.Unreadable(userId);
        }
        await audit.WriteAsync(new AuditEntry(actor, "user.read_key", AuditResult.Success, 200, [userId]), ct);
        return ToResponse(user) with { Key = key };
    }

    internal static SyncState? CheckSync(string? sync, Dictionary<string, string[]> errors)
    {
        if (sync is not { Length: > 0 }) return null;
        if (sync is "synced" or "pending" or "error" or "conflict") return Enum.Parse<SyncState>(sync, ignoreCase: true);
        errors["sync"] = ["Must be synced, pending, error or conflict."];
        return null;
    }

    /// <summary>The <c>rotation</c> filter: <c>in_progress</c>, or nothing for every user.</summary>
    internal static bool CheckRotation(string? rotation, Dictionary<string, string[]> errors)
    {
        if (rotation is not { Length: > 0 }) return false;
        if (rotation == RotationInProgress) return true;
        errors["rotation"] = [$"Must be {RotationInProgress}."];
        return false;
    }

    public const string RotationInProgress = "in_progress";

    /// <summary>The users the list filters keep: what both the list and the export read.</summary>
    internal static IQueryable<User> Filtered(MamaDbContext db, string? search, string? organization, string? model, string? service, SyncState? sync, bool rotating = false)
    {
        var users = db.KeyUsers.AsNoTracking().Where(u => u.DeletedAt == null);
        if (!string.IsNullOrWhiteSpace(search))
        {
            // Case-insensitive substring match that the database does without lower() on every row: LIKE on SQLite
            // (ASCII case folding, as its lower() had), ILIKE on PostgreSQL. The scan runs over the small search index.
            var pattern = "%" + LikeEscape().Replace(UserValidation.NormalizeUserId(search.Trim())!, @"\$0") + "%";
            users = db.Database.IsNpgsql()
                ? users.Where(u => EF.Functions.ILike(u.UserId, pattern, @"\") || EF.Functions.ILike(u.Organization, pattern, @"\"))
                : users.Where(u => EF.Functions.Like(u.UserId, pattern, @"\") || EF.Functions.Like(u.Organization, pattern, @"\"));
        }
        if (!string.IsNullOrEmpty(organization)) users = users.Where(u => u.Organization == organization);
        if (!string.IsNullOrEmpty(model)) users = users.Where(u => u.AllowedModels.Any(m => m.Name == model));
        if (!string.IsNullOrEmpty(service)) users = users.Where(u => u.AllowedServices.Any(x => x.Name == service));
        if (sync is { } state) users = users.Where(u => u.SyncState == state);
        // Rotating: the new key is not live yet, or the replaced one still works (its grace window).
        if (rotating) users = users.Where(u => u.RotationId != null || u.PreviousKeyExpiresAt != null);
        return users;
    }

    /// <summary>A user as the API shows it: the key as a preview only.</summary>
    public static UserResponse ToResponse(User u) => new(
        u.UserId, u.Organization, "sk-…" + u.KeyLastFour, u.Models, u.Services,
        u.ExtraInfo, u.CreatedAt, u.CreatedBy, u.UpdatedAt, u.UpdatedBy,
        u.SyncState.Name(), u.SyncError, u.LastSyncedAt,
        u.ExpiresAt, u.ExpiresAt <= DateTimeOffset.UtcNow, u.RotationId, u.PreviousKeyExpiresAt);

    [GeneratedRegex(@"[\\%_]")]
    private static partial Regex LikeEscape();
}
