using System.Text;
using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.LiteLlm;
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
        // The API's door refuses a NUL (InputGuard); the users page passes typed text straight here.
        foreach (var (field, text) in new[] { ("search", query.Search), ("organization", query.Organization), ("model", query.Model), ("service", query.Service) })
            if (TextRules.HasNul(text)) errors[field] = [TextRules.NulMessage];
        if (errors.Count > 0) throw ProblemException.Validation(errors);
        var known = query.UnavailableModels ? await KnownModelsAsync(ct) : null;

        // Before reading, the search index too: a write that commits meanwhile makes what is read uncacheable.
        var version = _totals?.Version ?? 0;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var plan = _search is null ? UserSearchIndex.Plan.Scan : await _search.PlanAsync(db, SearchText(query.Search), paging.Offset + pageSize, ct);
        var users = Filtered(db, query.Search, query.Organization, query.Model, query.Service, syncFilter, rotating, known, await plan.ForPageAsync(ct));

        var key = known is null ? TotalKey(query.Search, query.Organization, query.Model, query.Service, query.Sync, query.Rotation) : null;
        int? cachedTotal = key is not null && _totals is not null && _totals.TryGet(key, out var cached) ? cached.Count : null;
        var sorted = (query.Sort, descending) switch
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
        var items = (await sorted.Skip(paging.Offset).Take(pageSize).ToListAsync(ct)).Select(ToResponse).ToList();
        // A page that is not full ends the list, so it gives the total without a count: a search that finds a few users.
        // It wins over a cached total, which a write committing while the page was read may have overtaken.
        var total = items.Count < pageSize && (items.Count > 0 || paging.Offset == 0) ? paging.Offset + items.Count
            : cachedTotal ?? await Filtered(db, query.Search, query.Organization, query.Model, query.Service, syncFilter, rotating, known, plan.ForCount).CountAsync(ct);
        if (cachedTotal is null && key is not null) _totals?.Add(key, new ListTotal(total), version);

        await audit.WriteAsync(new AuditEntry(actor, "user.list", AuditResult.Success, 200, items.Select(i => i.UserId).ToList(),
            new { query.Search, query.Organization, query.Model, query.Service, query.Sync, query.Rotation, unavailable_models = query.UnavailableModels, page, page_size = pageSize, total }), ct);
        return new UserPage(items, total, page, pageSize);
    }

    /// <summary>
    /// The list's totals by filter, valid until the next committed write to users: paging through a filter, or reloading
    /// it, counts once (the count reads every matching user, a page only its own). SQLite only, where this process is the
    /// only writer; PostgreSQL counts every time.
    /// </summary>
    private readonly UserRowCache<ListTotal>? _totals = changes is null ? null : new(changes, 256);

    private sealed record ListTotal(int Count);

    /// <summary>The list search's trigram index: SQLite only, as the totals (PostgreSQL scans with ILIKE).</summary>
    private readonly UserSearchIndex? _search = changes is null ? null : new(changes);

    /// <summary>The filter's values as one key, each after its length, so that no two filters share a key.</summary>
    private static string TotalKey(params string?[] values) => string.Concat(values.Select(v => v is null ? "-|" : $"{v.Length}|{v}"));

    /// <summary>
    /// How many of these users the filter hides (the page's "3 selected users are hidden by the filter"). Not audited:
    /// it names no user and tells only about IDs the admin already holds.
    /// </summary>
    public async Task<int> CountHiddenAsync(UserQuery filter, IReadOnlyCollection<string> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return 0;
        var errors = new Dictionary<string, string[]>();
        var sync = CheckSync(filter.Sync, errors);
        var rotating = CheckRotation(filter.Rotation, errors);
        if (errors.Count > 0) throw ProblemException.Validation(errors);
        var known = filter.UnavailableModels ? await KnownModelsAsync(ct) : null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var shown = 0;
        // In chunks: a selection may hold every user, more IDs than one statement may carry as parameters.
        foreach (var ids in userIds.Distinct(StringComparer.Ordinal).Chunk(RequestLimits.MaxUserIdsPerCall))
            shown += await Filtered(db, filter.Search, filter.Organization, filter.Model, filter.Service, sync, rotating, known).CountAsync(u => ids.Contains(u.UserId), ct);
        return userIds.Count - shown;
    }

    public const int MaxOrganizationSuggestions = 20;

    /// <summary>
    /// Existing organisations containing the text (any case), in order, at most <see cref="MaxOrganizationSuggestions"/>:
    /// the organisation filter's suggestions. Not audited, as it names no user and runs on every keystroke.
    /// </summary>
    public async Task<IReadOnlyList<string>> OrganizationsAsync(string? containing, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var organizations = db.KeyUsers.AsNoTracking().Where(u => u.DeletedAt == null && u.Organization != "");
        if (!string.IsNullOrWhiteSpace(containing))
            organizations = OrganizationLike(db, organizations, "%" + LikeEscape().Replace(containing.Trim(), @"\$0") + "%");
        return await organizations.Select(u => u.Organization).Distinct().OrderBy(o => o).Take(MaxOrganizationSuggestions).ToListAsync(ct);
    }

    /// <summary>
    /// Every name a key may hold that the proxy still serves: its models and access groups, and LiteLLM's special names.
    /// 503 when the proxy's list cannot be read (a list "without unavailable models" would then be a wrong answer).
    /// </summary>
    internal async Task<IReadOnlyList<string>> KnownModelsAsync(CancellationToken ct)
    {
        var list = await models.GetAsync(liteLlmOptions.Value.InlineSyncBudget, ct);
        return [.. list.Names().Concat(ModelCatalog.SpecialModels).Distinct(StringComparer.Ordinal)];
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

    /// <summary>
    /// The users the list filters keep: what the list, the export and a rotation of all matching read.
    /// <paramref name="knownModels"/>, when given, keeps only users holding a model outside it (the proxy no longer serves).
    /// <paramref name="searchIndex"/>, when given, is the rows the search's trigram index finds (<see cref="UserSearchIndex"/>):
    /// only those are read, and the search still decides which of them match.
    /// </summary>
    internal static IQueryable<User> Filtered(MamaDbContext db, string? search, string? organization, string? model, string? service, SyncState? sync, bool rotating = false,
        IReadOnlyList<string>? knownModels = null, UserSearchIndex.Rows? searchIndex = null)
    {
        var users = db.KeyUsers.AsNoTracking().Where(u => u.DeletedAt == null);
        if (SearchText(search) is { } text)
        {
            if (searchIndex?.Ids is { } ids) users = users.Where(u => EF.Parameter(ids).Contains(u.Id));
            else if (searchIndex?.Query is { } found) users = users.Where(u => found.Contains(u.Id));
            // Case-insensitive substring match that the database does without lower() on every row: LIKE on SQLite
            // (ASCII case folding, as its lower() had), ILIKE on PostgreSQL. The scan runs over the small search index.
            var pattern = "%" + LikeEscape().Replace(text, @"\$0") + "%";
            users = db.Database.IsNpgsql()
                ? users.Where(u => EF.Functions.ILike(u.UserId, pattern, @"\") || EF.Functions.ILike(u.Organization, pattern, @"\"))
                : users.Where(u => EF.Functions.Like(u.UserId, pattern, @"\") || EF.Functions.Like(u.Organization, pattern, @"\"));
        }
        // ACME finds acme: a pattern without wildcards is equality ignoring case (ASCII on SQLite; Hangul has no case either way).
        if (!string.IsNullOrWhiteSpace(organization))
            users = OrganizationLike(db, users, LikeEscape().Replace(organization.Trim(), @"\$0"));
        if (!string.IsNullOrEmpty(model)) users = users.Where(u => u.AllowedModels.Any(m => m.Name == model));
        if (knownModels is not null) users = users.Where(u => u.AllowedModels.Any(m => !knownModels.Contains(m.Name)));
        if (!string.IsNullOrEmpty(service)) users = users.Where(u => u.AllowedServices.Any(x => x.Name == service));
        if (sync is { } state) users = users.Where(u => u.SyncState == state);
        // Rotating: the new key is not live yet, or the replaced one still works (its grace window).
        if (rotating) users = users.Where(u => u.RotationId != null || u.PreviousKeyExpiresAt != null);
        return users;
    }

    /// <summary>The search as matched: trimmed and NFC (as user IDs are stored); null when there is none.</summary>
    private static string? SearchText(string? search) => string.IsNullOrWhiteSpace(search) ? null : UserValidation.NormalizeUserId(search.Trim());

    /// <summary>NFC, as search and user IDs: Hangul typed on macOS or pasted from a file may arrive decomposed.</summary>
    private static IQueryable<User> OrganizationLike(MamaDbContext db, IQueryable<User> users, string pattern)
    {
        pattern = pattern.Normalize(NormalizationForm.FormC);
        return db.Database.IsNpgsql()
            ? users.Where(u => EF.Functions.ILike(u.Organization, pattern, @"\"))
            : users.Where(u => EF.Functions.Like(u.Organization, pattern, @"\"));
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
