using System.Text.RegularExpressions;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>
/// LiteLLM's rules for <c>key_alias</c> (virtual_keys.md, "Enforce a key_alias naming pattern"): path traversal
/// (<c>..</c>) and control characters are refused whatever the settings (PR #32092); with
/// <c>litellm_settings.key_alias_pattern</c> the whole alias must match it (Python <c>re.fullmatch</c>), after a
/// 255-character cap (PR #42553). An update that leaves the alias unchanged is not checked.
/// </summary>
internal static class AliasRules
{
    public const int MaxLength = 255;

    /// <summary>Throws LiteLLM's 400 when <paramref name="alias"/> is new and not acceptable; <paramref name="current"/> is the stored alias on update.</summary>
    public static void Check(string? alias, EmulatorControl emulator, string? current = null)
    {
        if (alias is null || alias == current) return;
        if (alias.Contains("..", StringComparison.Ordinal) || alias.Any(char.IsControl))
        {
            throw new ProxyError(400, "Invalid key_alias", "bad_request_error", "key_alias");
        }
        if (emulator.KeyAliasPattern is not { } pattern) return;
        if (alias.Length > MaxLength || !FullMatch(pattern).IsMatch(alias))
        {
            throw new ProxyError(400,
                $"Invalid key_alias format. Must be at most {MaxLength} characters and match the configured key_alias_pattern: {pattern}",
                "bad_request_error", "key_alias");
        }
    }

    /// <summary>The pattern compiled as Python's fullmatch reads it; throws <see cref="ArgumentException"/> when it does not compile.</summary>
    public static Regex FullMatch(string pattern) =>
        new(@"\A(?:" + pattern + @")\z", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
}
