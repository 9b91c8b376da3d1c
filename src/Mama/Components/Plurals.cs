using Microsoft.Extensions.Localization;

namespace Mama.Components;

public static class Plurals
{
    /// <summary>
    /// The string for a count: the key's "One" form when the count is 1 ("1 user"), the key itself otherwise
    /// ("0 users", "2 users"). Korean does not inflect, so its One strings say the same as the others.
    /// </summary>
    public static LocalizedString Plural(this IStringLocalizer l, string key, long count, params object[] arguments)
    {
        if (count == 1 && l[key + "One", arguments] is { ResourceNotFound: false } one) return one;
        return l[key, arguments];
    }
}
