using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Mama.LiteLlmEmulator.Http;

internal static class Formats
{
    /// <summary>Timestamps as LiteLLM's DB rows carry them (info, update, list).</summary>
    public static string DbTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00";

    /// <summary>Timestamps as pydantic serialises them in /key/generate.</summary>
    public static string ApiTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "Z";

    public static string? ToApiTime(string? dbTime) =>
        dbTime is null ? null : ApiTime(DateTimeOffset.Parse(dbTime, CultureInfo.InvariantCulture));

    public static DateTimeOffset? ParseTime(string? value) =>
        value is null ? null : DateTimeOffset.Parse(value, CultureInfo.InvariantCulture);

    public static string Sha256Hex(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    /// <summary>CONTRACT §1.3: a value starting with sk- is a raw key, anything else already is the hash.</summary>
    public static string HashIfNeeded(string value) => value.StartsWith("sk-", StringComparison.Ordinal) ? Sha256Hex(value) : value;

    public static string KeyName(string rawKey) => "sk-..." + (rawKey.Length > 4 ? rawKey[^4..] : rawKey);

    public static string Mask(string value) => value.Length <= 8 ? "****" : value[..4] + "****" + value[^4..];

    public static string NewKey()
    {
        var chars = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return "sk-" + chars;
    }

    public static decimal PyFloat(double value)
    {
        // decimal keeps its scale, so 25 serialises as 25.0 like a Python float would.
        var d = (decimal)value;
        return d == decimal.Truncate(d) ? d + 0.0m : d;
    }
}
