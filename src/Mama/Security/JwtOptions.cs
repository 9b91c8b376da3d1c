using System.Security.Cryptography;

namespace Mama.Security;

public sealed class JwtOptions
{
    public const string Issuer = "mama";
    public const string Audience = "mama-api";
    public const string Setting = "Mama:Jwt:SigningKey";
    public const int MinBytes = 32;
    public const string Missing = "Mama:Jwt:SigningKey (env Mama__Jwt__SigningKey) is required outside Development: base64 of at least 32 random bytes.";

    /// <summary>Base64 of at least 32 random bytes (env <c>Mama__Jwt__SigningKey</c>).</summary>
    public string? SigningKey { get; set; }
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The signing key from configuration; in Development, one generated once into the data folder.
    /// Production without a configured key stops the start.
    /// </summary>
    public static byte[] ResolveSigningKey(string? configured, IHostEnvironment env, string dataPath)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return SecretSetting.Decode(configured, Setting, MinBytes);
        if (!env.IsDevelopment()) throw new InvalidOperationException(Missing);
        return SecretFile.ReadOrCreate(Path.Combine(dataPath, "jwt-signing.key"), 64);
    }

}

/// <summary>A random secret kept in a file readable only by its owner, created on first use.</summary>
public static class SecretFile
{
    public static byte[] ReadOrCreate(string path, int bytes)
    {
        if (File.Exists(path)) return Convert.FromBase64String(File.ReadAllText(path).Trim());
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var secret = RandomNumberGenerator.GetBytes(bytes);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var file = new StreamWriter(path, options);
            file.Write(Convert.ToBase64String(secret));
            return secret;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; theirs wins.
            return Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
    }
}
