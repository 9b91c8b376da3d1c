namespace Mama.Security;

/// <summary>
/// Reads a base64 secret from a setting. Problems are described by the setting's name (and its environment
/// variable), never by its value, so the message can be printed.
/// </summary>
public static class SecretSetting
{
    public static string EnvironmentName(string setting) => setting.Replace(":", "__");

    /// <summary>Null when <paramref name="base64"/> is base64 of an acceptable length, else what is wrong with it.</summary>
    public static string? Problem(string? base64, string setting, int minBytes, bool exact = false)
    {
        var bytes = TryDecode(base64);
        var expected = exact ? $"exactly {minBytes}" : $"at least {minBytes}";
        if (bytes is null) return $"{setting} (env {EnvironmentName(setting)}) is not base64: it must be base64 of {expected} random bytes.";
        return bytes.Length < minBytes || (exact && bytes.Length != minBytes)
            ? $"{setting} (env {EnvironmentName(setting)}) decodes to {bytes.Length} bytes: it must be base64 of {expected} random bytes."
            : null;
    }

    public static byte[] Decode(string base64, string setting, int minBytes, bool exact = false) =>
        Problem(base64, setting, minBytes, exact) is { } problem ? throw new InvalidOperationException(problem) : TryDecode(base64)!;

    private static byte[]? TryDecode(string? base64)
    {
        if (string.IsNullOrWhiteSpace(base64)) return null;
        try { return Convert.FromBase64String(base64.Trim()); }
        catch (FormatException) { return null; }
    }
}
