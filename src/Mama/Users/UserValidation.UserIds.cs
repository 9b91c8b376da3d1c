using System.Buffers;
using System.Globalization;
using System.Text;
using Mama.Http;

namespace Mama.Users;

/// <summary>
/// The one user ID rule, for the API, the UI and CSV alike. A user ID is 1–128 UTF-16 code units (as
/// <see cref="string.Length"/> counts them; PostgreSQL's varchar(128) counts code points, never more) of letters and
/// digits of any script (Unicode L* and N*), combining marks (Mn, Mc) after a letter or digit, '.', '_', '@', '-', '+'
/// and single spaces between them, in Unicode NFC. Marks are needed because Devanagari, Thai, Tamil and other scripts
/// have no precomposed form for most syllables; a mark may not start the ID or follow a space or symbol, so it always
/// belongs to a visible letter. Comparison stays ordinal after NFC. Every ID of the earlier ASCII rule
/// (<c>[A-Za-z0-9._@-]{1,128}</c>) still matches.
/// </summary>
public static partial class UserValidation
{
    public const int MaxUserIdLength = 128;

    private static readonly SearchValues<char> AsciiIdCharacters = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-+ ");

    public const string UserIdRule = "1–128 letters or digits of any script, '.', '_', '@', '-', '+' and single spaces between them";

    /// <summary>The ID in Unicode NFC, as stored and compared; text that cannot be normalised (a broken surrogate) is left as it is, to be refused.</summary>
    public static string? NormalizeUserId(string? id)
    {
        if (id is null || TextRules.HasHiddenOrBroken(id)) return id;
        return id.IsNormalized(NormalizationForm.FormC) ? id : id.Normalize(NormalizationForm.FormC);
    }

    /// <summary>The shape of any user ID, also of users created before the '..' rule: what addressing a user accepts. Expects NFC.</summary>
    public static bool IsValidUserId(string? id) => id is not null && UserIdProblem(id) is null;

    /// <summary>A user ID a new user may take: the ID is the key alias, and LiteLLM refuses '..' in aliases (PR #32092).</summary>
    public static bool IsValidNewUserId(string? id) => IsValidUserId(id) && !id!.Contains("..", StringComparison.Ordinal);

    public static FieldError? CheckUserId(string? id) => string.IsNullOrEmpty(id) ? new("required", "Required.") : UserIdProblem(id);

    /// <summary>The rules for a new user's ID, with the operator's <see cref="KeyAliasPattern"/> when one is set.</summary>
    public static FieldError? CheckNewUserId(string? id, string? aliasPattern) =>
        string.IsNullOrEmpty(id) ? new("required", "Required.")
        : UserIdProblem(id) is { } problem ? problem
        : id.Contains("..", StringComparison.Ordinal) ? new("user_id_dots", "Must not contain '..' (LiteLLM refuses it in key aliases).")
        : KeyAliasPattern.Check(aliasPattern, id) is { } patternError ? new("user_id_alias_pattern", patternError)
        : null;

    /// <summary>Null when <paramref name="id"/> (already normalised) is a well-formed user ID, else what is wrong, in words.</summary>
    private static FieldError? UserIdProblem(string id)
    {
        if (id.Length is 0 or > MaxUserIdLength) return new("user_id_length", $"Use {UserIdRule}; this one has {id.Length} characters.");
        if (TextRules.HasHiddenOrBroken(id)) return new("hidden_characters", "Must not contain control or invisible formatting characters.");
        if (id[0] == ' ' || id[^1] == ' ') return new("user_id_spaces", "Must not start or end with a space.");
        if (id.Contains("  ", StringComparison.Ordinal)) return new("user_id_spaces", "Spaces only one at a time, between other characters.");
        if (id.Contains('/')) return new("user_id_invalid", "Must not contain '/'.");
        if (!id.AsSpan().ContainsAnyExcept(AsciiIdCharacters)) return null; // ASCII letters, digits and symbols: fits, and is NFC
        var previous = UnicodeCategory.SpaceSeparator;
        foreach (var rune in id.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            var fits = rune.Value is '.' or '_' or '@' or '-' or '+' or ' '
                       || (IsLetterOrDigit(category) && !IsInvisible(rune))
                       || (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark && !IsInvisible(rune)
                           && (IsLetterOrDigit(previous) || previous is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark));
            if (!fits) return new("user_id_invalid", $"Use {UserIdRule}; '{TextRules.Printable(rune.ToString())}' (U+{rune.Value:X4}) is not one of them.");
            previous = rune.Value == ' ' ? UnicodeCategory.SpaceSeparator : category;
        }
        // Callers normalise first; a decomposed ID here would never match the stored one.
        return id.IsNormalized(NormalizationForm.FormC) ? null : new("user_id_invalid", "Must be in Unicode normalisation form C (NFC).");
    }

    private static bool IsLetterOrDigit(UnicodeCategory category) => category is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
        or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    /// <summary>
    /// The Default_Ignorable code points that are letters or marks rather than format characters: the Hangul fillers
    /// (which render as nothing), the combining grapheme joiner and the variation selectors. They would make two IDs look alike.
    /// </summary>
    private static bool IsInvisible(Rune rune) => rune.Value is
        0x034F or 0x115F or 0x1160 or 0x17B4 or 0x17B5 or (>= 0x180B and <= 0x180F) or 0x3164
        or (>= 0xFE00 and <= 0xFE0F) or 0xFFA0 or (>= 0xE0100 and <= 0xE01EF);
}
