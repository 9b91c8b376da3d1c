using System.Text.RegularExpressions;
using Mama.LiteLlm;
using Mama.Users;
using Microsoft.Extensions.Localization;

namespace Mama.Components.Shared;

/// <summary>
/// A sync error as stored and sent by the REST API is mama's English sentence; the UI says it in the admin's language.
/// The shapes are recognised by the very constants the server builds them from; the proxy's own message is kept as it
/// came, quoted as the proxy's words. A text of no known shape is shown unchanged.
/// </summary>
public sealed partial class SyncErrorText
{
    private SyncErrorText()
    {
    }

    /// <summary>Each fixed sentence and its resx key.</summary>
    public static readonly IReadOnlyDictionary<string, string> Sentences = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [LiteLlmClient.NotConfigured] = "NotConfigured",
        [LiteLlmClient.KeyNotFound] = "KeyNotFound",
        [LiteLlmClient.MintedWithoutKey] = "MintedWithoutKey",
        [KeySync.ConflictReason] = "Conflict",
        [KeySync.HeldElsewhereReason] = "HeldElsewhere",
        [KeySync.UndecryptableReason] = "Undecryptable",
        [KeySync.LeaseLostReason] = "LeaseLost",
        [KeySync.BusyReason] = "Busy",
        [KeySync.InProgressReason] = "InProgress",
        [KeySync.ChangedAgainReason] = "ChangedAgain",
        [KeyRotationSteps.StillOnProxyReason] = "StillOnProxy",
        [UserService.RetryShortlyReason] = "RetryShortly",
    };

    private static readonly Regex Unreachable = Shape(LiteLlmClient.UnreachableFormat, ".+");
    private static readonly Regex Refused = Shape(LiteLlmClient.RefusedFormat, ".+?", @"\d{3}", ".*");

    public static string Describe(IStringLocalizer<SyncErrorText> l, string? stored)
    {
        if (string.IsNullOrEmpty(stored)) return stored ?? "";
        if (Sentences.TryGetValue(stored, out var key)) return l[key];
        if (Refused.Match(stored) is { Success: true } refused)
        {
            var (call, status, said) = (Part(l, "Call_", refused.Groups["p0"].Value), refused.Groups["p1"].Value, refused.Groups["p2"].Value);
            return said.Length == 0 ? l["RefusedSilently", call, status] : l["Refused", call, status, said];
        }
        if (Unreachable.Match(stored) is { Success: true } unreachable)
            return l["Unreachable", Part(l, "Reason_", unreachable.Groups["p0"].Value)];
        return stored;
    }

    /// <summary>A known part in the admin's language; an unknown one (a new call, a network error's name) as it came.</summary>
    private static string Part(IStringLocalizer<SyncErrorText> l, string prefix, string part) =>
        l[prefix + KeyChars().Replace(part, "_")] is { ResourceNotFound: false } known ? known.Value : part;

    /// <summary>The format as a whole-text pattern, its {i} matched by <paramref name="parts"/>[i] as group p<i>i</i>.</summary>
    private static Regex Shape(string format, params string[] parts)
    {
        var pattern = Regex.Escape(format);
        for (var i = 0; i < parts.Length; i++)
            pattern = pattern.Replace($@"\{{{i}}}", $"(?<p{i}>{parts[i]})", StringComparison.Ordinal);
        return new Regex("^" + pattern + "$", RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex KeyChars();
}
