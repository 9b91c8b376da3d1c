using System.Buffers;
using System.Globalization;

namespace Mama.Http;

/// <summary>What text mama accepts, one set of rules for the door check (<see cref="InputGuard"/>), names, IDs and return addresses.</summary>
public static class TextRules
{
    private static readonly SearchValues<char> PrintableAscii = SearchValues.Create(Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c).ToArray());

    /// <summary>
    /// Control characters (Cc), invisible formatting characters (Cf: zero-width spaces, bidi overrides) and the
    /// line and paragraph separators (Zl, Zp): they make two names look alike or a name look like another.
    /// </summary>
    public static bool IsHidden(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>A hidden character (see <see cref="IsHidden"/>) or half of a surrogate pair: not fit for a name, ID or filter.</summary>
    public static bool HasHiddenOrBroken(string text)
    {
        if (!text.AsSpan().ContainsAnyExcept(PrintableAscii)) return false; // the common case, checked vectorised
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c) || IsHidden(c)) return true;
        }
        return false;
    }

    /// <summary>NUL is text nowhere: PostgreSQL refuses it in every text column, so it is refused at the door on both databases.</summary>
    public static bool HasNul(string? text) => text is not null && text.Contains('\0');

    public const string NulMessage = "Must not contain the NUL character (\\u0000).";

    /// <summary>Text safe to echo in a message: at most <paramref name="max"/> characters, hidden ones shown as '?'.</summary>
    public static string Printable(string text, int max = 40) =>
        new(text.Take(max).Select(c => IsHidden(c) || char.IsSurrogate(c) ? '?' : c).ToArray());
}
