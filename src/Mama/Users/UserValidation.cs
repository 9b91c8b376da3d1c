using System.Text.RegularExpressions;
using Mama.Http;

namespace Mama.Users;

/// <summary>The data rules of DESIGN §2, shared by every way users are created or edited.</summary>
public static partial class UserValidation
{
    public const int MaxExtraInfo = 4000;
    public const int MaxOrganization = 200;
    public const int MaxName = 200;

    public static bool IsValidUserId(string? id) => id is not null && UserIdPattern().IsMatch(id);

    public static string? CheckUserId(string? id) =>
        string.IsNullOrEmpty(id) ? "Required."
        : IsValidUserId(id) ? null
        : "Use 1–128 letters, digits, '.', '_', '@' or '-'.";

    public static string? CheckOrganization(string? organization) =>
        organization is null ? null
        : organization.Length > MaxOrganization ? $"At most {MaxOrganization} characters."
        : organization.Any(char.IsControl) ? "Must not contain control characters."
        : null;

    public static string? CheckExtraInfo(string? extraInfo) =>
        extraInfo is { Length: > MaxExtraInfo } ? $"At most {MaxExtraInfo} characters." : null;

    /// <summary>Model and service names: 1–200 characters, no control characters.</summary>
    public static string? CheckNames(IEnumerable<string?>? names)
    {
        foreach (var name in names ?? [])
        {
            if (string.IsNullOrWhiteSpace(name)) return "Names must not be empty.";
            if (name.Length > MaxName) return $"Names are at most {MaxName} characters.";
            if (name.Any(char.IsControl)) return "Names must not contain control characters.";
        }
        return null;
    }

    /// <summary>A list of 1–1,000 distinct, well-formed user IDs, or a 400 naming what is wrong.</summary>
    public static IReadOnlyList<string> RequireUserIds(IReadOnlyList<string>? ids, string field = "user_ids")
    {
        if (ids is null || ids.Count == 0) throw ProblemException.Validation(field, "Give at least one user ID.");
        if (ids.Count > RequestLimits.MaxUserIdsPerCall) throw ProblemException.Validation(field, $"At most {RequestLimits.MaxUserIdsPerCall} user IDs per call; got {ids.Count}.");
        var invalid = ids.Where(id => !IsValidUserId(id)).Take(20).ToList();
        if (invalid.Count > 0) throw ProblemException.Validation(field, "Invalid user IDs (1–128 letters, digits, '.', '_', '@' or '-'): " + string.Join(", ", invalid.Select(Quote)));
        var duplicates = ids.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(20).ToList();
        if (duplicates.Count > 0) throw ProblemException.Validation(field, "Duplicate user IDs: " + string.Join(", ", duplicates.Select(Quote)));
        return ids;
    }

    // Invalid input is echoed only in a bounded, printable form.
    private static string Quote(string? id) => id is null ? "null" : "'" + new string(id.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray()) + "'";

    [GeneratedRegex(@"^[A-Za-z0-9._@\-]{1,128}$")]
    private static partial Regex UserIdPattern();
}
