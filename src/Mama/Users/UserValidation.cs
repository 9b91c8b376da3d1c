using Mama.Http;

namespace Mama.Users;

/// <summary>
/// What is wrong with one field: a stable <see cref="Code"/> (sent as the problem's <c>error_codes</c>, so the UI can say it
/// in the admin's language) and the English words the API has always sent, which the error stays usable as.
/// </summary>
public sealed record FieldError(string Code, string Message)
{
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(error))]
    public static implicit operator string?(FieldError? error) => error?.Message;

    public override string ToString() => Message;
}

/// <summary>The data rules of DESIGN §2, shared by every way users are created or edited.</summary>
public static partial class UserValidation
{
    public const int MaxExtraInfo = 4000;
    public const int MaxOrganization = 200;
    public const int MaxName = 200;

    public static FieldError? CheckOrganization(string? organization) =>
        organization is null ? null
        : organization.Length > MaxOrganization ? new("organization_too_long", $"At most {MaxOrganization} characters.")
        : TextRules.HasHiddenOrBroken(organization) ? Hidden
        : null;

    /// <summary>Free text: line breaks and tabs are fine, NUL is not.</summary>
    public static FieldError? CheckExtraInfo(string? extraInfo) =>
        extraInfo is { Length: > MaxExtraInfo } ? new("extra_info_too_long", $"At most {MaxExtraInfo} characters.")
        : TextRules.HasNul(extraInfo) ? new("nul_character", TextRules.NulMessage)
        : null;

    /// <summary>A model or service name: 1–200 characters, nothing hidden.</summary>
    public static FieldError? CheckName(string? name) =>
        name is null ? new("name_empty", "Must be a name, not null.")
        : string.IsNullOrWhiteSpace(name) ? new("name_empty", "Names must not be empty.")
        : name.Length > MaxName ? new("name_too_long", $"Names are at most {MaxName} characters.")
        : TextRules.HasHiddenOrBroken(name) ? Hidden
        : null;

    /// <summary>The first bad name of a set, as the error of <c>field[index]</c> (and its code, when codes are collected).</summary>
    public static bool CheckNames(IReadOnlyList<string?>? names, string field, IDictionary<string, string[]> errors, IDictionary<string, string>? codes = null)
    {
        for (var i = 0; i < (names?.Count ?? 0); i++)
        {
            if (CheckName(names![i]) is not { } error) continue;
            errors[$"{field}[{i}]"] = [error];
            codes?.Add($"{field}[{i}]", error.Code);
            return false;
        }
        return true;
    }

    private static readonly FieldError Hidden = new("hidden_characters", "Must not contain control, invisible formatting or line separator characters.");

    /// <summary>A list of 1–1,000 distinct, well-formed user IDs, in NFC (as stored), or a 400 naming what is wrong.</summary>
    public static IReadOnlyList<string> RequireUserIds(IReadOnlyList<string>? ids, string field = "user_ids")
    {
        if (ids is null || ids.Count == 0) throw ProblemException.Validation(field, "Give at least one user ID.", "user_ids_empty");
        if (ids.Count > RequestLimits.MaxUserIdsPerCall) throw ProblemException.Validation(field, $"At most {RequestLimits.MaxUserIdsPerCall} user IDs per call; got {ids.Count}.", "too_many_user_ids");
        for (var i = 0; i < ids.Count; i++)
            if (ids[i] is null) throw ProblemException.Validation($"{field}[{i}]", "Must be a user ID, not null.", "user_ids_empty");
        // Plain loops and a set: this runs on every key lookup, up to 1,000 IDs each.
        var normalized = new List<string>(ids.Count);
        List<string>? invalid = null;
        foreach (var id in ids)
        {
            var userId = NormalizeUserId(id)!;
            normalized.Add(userId);
            if (!IsValidUserId(userId) && (invalid ??= []).Count < 20) invalid.Add(userId);
        }
        if (invalid is not null) throw ProblemException.Validation(field, $"Invalid user IDs ({UserIdRule}): " + string.Join(", ", invalid.Select(Quote)), "user_id_invalid");
        var seen = new HashSet<string>(normalized.Count, StringComparer.Ordinal);
        if (!normalized.TrueForAll(seen.Add))
        {
            // Named in the order each first appears.
            var duplicates = normalized.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(20).ToList();
            throw ProblemException.Validation(field, "Duplicate user IDs: " + string.Join(", ", duplicates.Select(Quote)), "duplicate_user_id");
        }
        return normalized;
    }

    // Invalid input is echoed only in a bounded, printable form.
    private static string Quote(string? id) => id is null ? "null" : "'" + TextRules.Printable(id) + "'";
}
