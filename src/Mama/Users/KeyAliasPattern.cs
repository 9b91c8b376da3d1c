using System.Text.RegularExpressions;
using Mama.LiteLlm;
using Microsoft.Extensions.Options;

namespace Mama.Users;

/// <summary>
/// The operator's rule for key aliases (<c>LiteLlm:KeyAliasPattern</c>): a .NET regex the whole alias (the user ID)
/// must match, as LiteLLM's <c>key_alias_pattern</c> is fullmatched. Checked wherever users are created, before
/// anything is written or sent, so the proxy never refuses an alias mama accepted.
/// </summary>
public static class KeyAliasPattern
{
    public const string Setting = "LiteLlm:KeyAliasPattern";

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(250);

    /// <summary>Null when the ID matches or no pattern is set, else the error naming the pattern.</summary>
    public static string? Check(string? pattern, string userId) =>
        string.IsNullOrEmpty(pattern) || Matches(pattern, userId) ? null : Message(pattern);

    public static string Message(string pattern) => $"Does not match the key alias pattern {Setting} = {pattern} (the whole user ID must match).";

    /// <summary>Null when the pattern compiles (or none is set), else why not.</summary>
    public static string? Invalid(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern)) return null;
        try
        {
            // Alone first: an unbalanced ')' would otherwise compile inside the anchors and break out of them ("a)|(.*").
            _ = new Regex(pattern, RegexOptions.CultureInvariant);
            _ = new Regex(Anchored(pattern), RegexOptions.CultureInvariant, MatchTimeout);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"{Setting} is not a valid .NET regular expression: {e.Message}";
        }
    }

    private static bool Matches(string pattern, string userId)
    {
        try
        {
            // The static IsMatch caches the compiled pattern.
            return Regex.IsMatch(userId, Anchored(pattern), RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    // \A…\z around a group: the whole alias must match, whatever anchors or alternations the pattern holds.
    private static string Anchored(string pattern) => @"\A(?:" + pattern + @")\z";
}

/// <summary>A pattern that does not compile stops the start with one line, like the other LiteLLM settings.</summary>
public sealed class KeyAliasPatternValidator : IValidateOptions<LiteLlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LiteLlmOptions options) =>
        KeyAliasPattern.Invalid(options.KeyAliasPattern) is { } failure ? ValidateOptionsResult.Fail(failure) : ValidateOptionsResult.Success;
}
