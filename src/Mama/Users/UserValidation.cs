using Mama.Http;

namespace Mama.Users;

/// <summary>The data rules of DESIGN §2, shared by every way users are created or edited.</summary>
public static partial class UserValidation
{
    public const int MaxExtraInfo = 4000;
    public const int MaxOrganization = 200;
    public const int MaxName = 200;

    public static string? CheckOrganization(string? organization) =>
        organization is null ? null
        : organization.Length > MaxOrganization ? $"At most {MaxOrganization} characters."
        : TextRules.HasHiddenOrBroken(organization) ? HiddenMessage
        : null;

    /// <summary>Free text: line breaks and tabs are fine, NUL is not.</summary>
    public static string? CheckExtraInfo(string? extraInfo) =>
        extraInfo is { Length: > MaxExtraInfo } ? $"At most {MaxExtraInfo} characters."
        : TextRules.HasNul(extraInfo) ? TextRules.NulMessage
        : null;

    /// <summary>A model or service name: 1–200 characters, nothing hidden.</summary>
    public static string? CheckName(string? name) =>
        name is null ? "Must be a name, not null."
        : string.IsNullOrWhiteSpace(name) ? "Names must not be empty."
        : name.Length > MaxName ? $"Names are at most {MaxName} characters."
        : TextRules.HasHiddenOrBroken(name) ? HiddenMessage
        : null;

    /// <summary>The first bad name of a set, as the error of <c>field[index]</c>.</summary>
    public static bool CheckNames(IReadOnlyList<string?>? names, string field, IDictionary<string, string[]> errors)
    {
        for (var i = 0; i < (names?.Count ?? 0); i++)
        {
            if (CheckName(names![i]) is not { } error) continue;
            errors[$"{field}[{i}]"] = [error];
            return false;
        }
        return true;
    }

    private const string HiddenMessage = "Must not contain control, invisible formatting or line separator characters.";

    /// <summary>A list of 1–1,000 distinct, well-formed user IDs, in NFC (as stored), or a 400 naming what is wrong.</summary>
    public static IReadOnlyList<string> RequireUserIds(IReadOnlyList<string>? ids, string field = "user_ids")
    {
        if (ids is null || ids.Count == 0) throw ProblemException.Validation(field, "Give at least one user ID.");
        if (ids.Count > RequestLimits.MaxUserIdsPerCall) throw ProblemException.Validation(field, $"At most {RequestLimits.MaxUserIdsPerCall} user IDs per call; got {ids.Count}.");
        var nullAt = ids.Select((id, i) => id is null ? i : -1).FirstOrDefault(i => i >= 0, -1);
        if (nullAt >= 0) throw ProblemException.Validation($"{field}[{nullAt}]", "Must be a user ID, not null.");
        var normalized = ids.Select(id => NormalizeUserId(id)!).ToList();
        var invalid = normalized.Where(id => !IsValidUserId(id)).Take(20).ToList();
        if (invalid.Count > 0) throw ProblemException.Validation(field, $"Invalid user IDs ({UserIdRule}): " + string.Join(", ", invalid.Select(Quote)));
        var duplicates = normalized.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(20).ToList();
        if (duplicates.Count > 0) throw ProblemException.Validation(field, "Duplicate user IDs: " + string.Join(", ", duplicates.Select(Quote)));
        return normalized;
    }

    // Invalid input is echoed only in a bounded, printable form.
    private static string Quote(string? id) => id is null ? "null" : "'" + TextRules.Printable(id) + "'";
}
