using Mama.Components.Shared;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Users;

namespace Mama.Components.Pages.Users;

/// <summary>One row of the Add users dialog, as the admin types it.</summary>
public sealed class UserDraft
{
    public string UserId { get; set; } = "";
    public string Organization { get; set; } = "";
    public IReadOnlyCollection<string> Models { get; set; } = [];
    public string Services { get; set; } = "";
    public string ExtraInfo { get; set; } = "";
    /// <summary>An existing key to keep, or empty for a new one.</summary>
    public string Key { get; set; } = "";
    /// <summary>When the key ends, from a pasted <c>expires_at</c> column (ISO 8601); empty for the dialog's common end date.</summary>
    public string ExpiresAt { get; set; } = "";

    public IReadOnlyList<string> ServiceList => UserDrafts.SplitNames(Services);

    /// <param name="expiresAt">The end date for rows that bring none of their own.</param>
    public NewUserRequest ToRequest(DateTimeOffset? expiresAt = null) => new(UserValidation.NormalizeUserId(UserId.Trim()), Organization.Trim(), Models.ToList(), ServiceList, ExtraInfo,
        Key.Trim().Length == 0 ? null : Key.Trim(), UserDrafts.ParseTime(ExpiresAt) ?? expiresAt);
}

/// <summary>Why a draft row cannot be created yet; each is shown in words beside the row.</summary>
public enum DraftProblem
{
    MissingUserId,
    InvalidUserId,
    AliasPattern,
    DuplicateUserId,
    OrganizationTooLong,
    ExtraInfoTooLong,
    UnknownModel,
    InvalidKey,
    InvalidExpiresAt,
    /// <summary>The server has a user with this ID already (checked while the admin types, and again before Create).</summary>
    UserIdTaken,
    UserIdBeingDeleted,
}

public sealed record DraftCheck(int Row, DraftProblem Problem, string? Value = null)
{
    /// <summary>The field of the row the problem belongs to, as the API names it.</summary>
    public string Field => Problem switch
    {
        DraftProblem.OrganizationTooLong => "organization",
        DraftProblem.ExtraInfoTooLong => "extra_info",
        DraftProblem.UnknownModel => "allowed_models",
        DraftProblem.InvalidKey => "key",
        DraftProblem.InvalidExpiresAt => "expires_at",
        _ => "user_id",
    };
}

/// <summary>The Add users dialog's logic, pure: pasted lines into rows, and the checks made before submitting.</summary>
public static class UserDrafts
{
    /// <summary>
    /// Lines of user_id, organisation, models, services, extra info and an optional key (comma or tab separated; lists
    /// split by ';' or '|'). After a header line the key is the column named <c>key</c>, if any, so an export (whose
    /// sixth column is a date unless it holds keys) pastes back as it is.
    /// </summary>
    public static IReadOnlyList<UserDraft> Parse(string text)
    {
        var lines = text.TrimStart('\uFEFF').Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).Select(Csv.SplitLine).ToList();
        var header = lines.FirstOrDefault(f => IsHeader(f));
        var keyColumn = header is null ? 5 : header.ToList().FindIndex(f => string.Equals(f, "key", StringComparison.OrdinalIgnoreCase));
        var expiresColumn = header is null ? -1 : header.ToList().FindIndex(f => string.Equals(f, "expires_at", StringComparison.OrdinalIgnoreCase));
        return lines
            .Where(f => !IsHeader(f))
            .Select(f => new UserDraft
            {
                UserId = UserIdField(Field(f, 0)),
                Organization = Field(f, 1),
                Models = SplitNames(Field(f, 2)),
                Services = string.Join(", ", SplitNames(Field(f, 3))),
                ExtraInfo = Field(f, 4),
                Key = keyColumn < 0 ? "" : Field(f, keyColumn).Trim(),
                ExpiresAt = expiresColumn < 0 ? "" : Field(f, expiresColumn).Trim(),
            })
            .ToList();
    }

    private static bool IsHeader(IReadOnlyList<string> fields) => string.Equals(fields[0], "user_id", StringComparison.OrdinalIgnoreCase);

    public static IReadOnlyList<string> SplitNames(string? text) =>
        (text ?? "").Split([';', '|', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Names one per line, as the edit dialogs take them: a name may hold ',', ';' or '|', never a line break.</summary>
    public static IReadOnlyList<string> SplitLines(string? text) =>
        (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    public static string JoinLines(IEnumerable<string> names) => string.Join('\n', names);

    /// <summary>An ISO 8601 time (UTC unless it says otherwise), or null when empty or not a time.</summary>
    public static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at.ToUniversalTime() : null;

    /// <summary>
    /// The edit of one user as the differences from what was loaded: sets as add/remove lists, organisation and
    /// extra info only when changed and only while still as loaded, the end date set or cleared when changed. Null when nothing changed.
    /// </summary>
    public static EditUsersRequest? Changes(UserResponse loaded, string? organization, string? extraInfo, IEnumerable<string> models, IEnumerable<string> services, bool allowUnknownModels,
        DateTimeOffset? expiresAt)
    {
        var expiryChanged = expiresAt != loaded.ExpiresAt;
        var newOrganization = (organization ?? "").Trim() != loaded.Organization ? (organization ?? "").Trim() : null;
        var newExtraInfo = (extraInfo ?? "") != loaded.ExtraInfo ? extraInfo ?? "" : null;
        var modelEdit = Difference(loaded.AllowedModels, models);
        var serviceEdit = Difference(loaded.AllowedServices, services);
        if (newOrganization is null && newExtraInfo is null && modelEdit is null && serviceEdit is null && !expiryChanged) return null;
        return new EditUsersRequest([loaded.UserId], newOrganization, newExtraInfo, modelEdit, serviceEdit, allowUnknownModels,
            ExpectedOrganization: newOrganization is null ? null : loaded.Organization,
            ExpectedExtraInfo: newExtraInfo is null ? null : loaded.ExtraInfo,
            ExpiresAt: expiryChanged ? expiresAt : null, ClearExpiresAt: expiryChanged && expiresAt is null);
    }

    /// <summary>The names added and removed, or null when the set is as loaded.</summary>
    public static SetEditRequest? Difference(IEnumerable<string> loaded, IEnumerable<string> now)
    {
        var before = loaded.ToHashSet(StringComparer.Ordinal);
        var after = now.ToHashSet(StringComparer.Ordinal);
        var add = after.Except(before).Order(StringComparer.Ordinal).ToList();
        var remove = before.Except(after).Order(StringComparer.Ordinal).ToList();
        return add.Count == 0 && remove.Count == 0 ? null : new SetEditRequest(null, null, add, remove);
    }

    /// <param name="servedModels">The proxy's models, or null when unknown (then models are left to the server to check).</param>
    /// <param name="aliasPattern">The operator's <see cref="KeyAliasPattern"/>, if any.</param>
    /// <param name="taken">User IDs the server has already (true: still being deleted), from <see cref="UserService.TakenAsync"/>.</param>
    public static IReadOnlyList<DraftCheck> Check(IReadOnlyList<UserDraft> rows, IReadOnlySet<string>? servedModels, string? aliasPattern = null,
        IReadOnlyDictionary<string, bool>? taken = null)
    {
        var problems = new List<DraftCheck>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            // Normalised as the server will, so that a decomposed and a composed copy of one ID are duplicates here too.
            var id = UserValidation.NormalizeUserId(row.UserId.Trim())!;
            if (id.Length == 0) problems.Add(new(i, DraftProblem.MissingUserId));
            else if (!UserValidation.IsValidNewUserId(id)) problems.Add(new(i, DraftProblem.InvalidUserId, TextRules.Printable(id)));
            else if (KeyAliasPattern.Check(aliasPattern, id) is not null) problems.Add(new(i, DraftProblem.AliasPattern, id));
            else if (!seen.Add(id)) problems.Add(new(i, DraftProblem.DuplicateUserId, id));
            else if (taken?.TryGetValue(id, out var deleting) == true) problems.Add(new(i, deleting ? DraftProblem.UserIdBeingDeleted : DraftProblem.UserIdTaken, id));
            if (row.Organization.Length > UserValidation.MaxOrganization) problems.Add(new(i, DraftProblem.OrganizationTooLong));
            if (row.ExtraInfo.Length > UserValidation.MaxExtraInfo) problems.Add(new(i, DraftProblem.ExtraInfoTooLong));
            // Only the problem's code: the words shown beside the row must not repeat a key.
            if (row.Key.Trim().Length > 0 && UserValidation.CheckKey(row.Key.Trim()) is { } keyError) problems.Add(new(i, DraftProblem.InvalidKey, keyError.Code));
            if (row.ExpiresAt.Length > 0 && ParseTime(row.ExpiresAt) is null) problems.Add(new(i, DraftProblem.InvalidExpiresAt, TextRules.Printable(row.ExpiresAt)));
            if (servedModels is not null)
                problems.AddRange(row.Models.Where(m => !ServedModels.IsServed(m, servedModels))
                    .Select(m => new DraftCheck(i, DraftProblem.UnknownModel, m)));
        }
        return problems;
    }

    private static string Field(IReadOnlyList<string> fields, int index) => index < fields.Count ? fields[index] : "";

    // Exports put a ' before a leading '+', '-' or '@' (Csv.Field); no user ID starts with ', so it comes off again on the way back.
    private static string UserIdField(string id) => id is ['\'', '+' or '-' or '@', ..] ? id[1..] : id;
}

/// <summary>
/// What an Edit selected would change, computed before it is applied. <paramref name="Blocking"/>: users who end with
/// no model allowed although they have one now; mama then sends their keys blocked (see KeySync.SpecOf), since
/// LiteLLM would read an empty list as "every model".
/// </summary>
public sealed record BatchEditPreview(int Users, int Changing, int Unchanged, int ModelsChanging, int ServicesChanging, int OrganizationChanging, int ExtraInfoChanging,
    int Blocking);

public static class BatchEdits
{
    public static BatchEditPreview Preview(IReadOnlyCollection<UserResponse> users, string? organization, string? extraInfo, SetEdit? models, SetEdit? services)
    {
        int changing = 0, modelChanges = 0, serviceChanges = 0, orgChanges = 0, infoChanges = 0, blocking = 0;
        foreach (var user in users)
        {
            var after = models?.ApplyTo(user.AllowedModels);
            var m = after is not null && !after.SetEquals(user.AllowedModels);
            if (after is not null && after.Count == 0 && user.AllowedModels.Count > 0) blocking++;
            var s = services is not null && !services.ApplyTo(user.AllowedServices).SetEquals(user.AllowedServices);
            var o = organization is not null && organization != user.Organization;
            var x = extraInfo is not null && extraInfo != user.ExtraInfo;
            if (m) modelChanges++;
            if (s) serviceChanges++;
            if (o) orgChanges++;
            if (x) infoChanges++;
            if (m || s || o || x) changing++;
        }
        return new BatchEditPreview(users.Count, changing, users.Count - changing, modelChanges, serviceChanges, orgChanges, infoChanges, blocking);
    }
}
