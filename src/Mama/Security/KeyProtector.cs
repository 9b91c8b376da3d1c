using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mama.Http;
using Microsoft.Extensions.Options;

namespace Mama.Security;

public sealed class EncryptionOptions
{
    /// <summary>Base64 of 32 random bytes that encrypts users' keys (env <c>Mama__EncryptionKey</c>).</summary>
    public string? EncryptionKey { get; set; }
    /// <summary>Earlier encryption keys, still accepted for reading after a rotation (env <c>Mama__PreviousEncryptionKeys__0</c>, …).</summary>
    public List<string> PreviousEncryptionKeys { get; set; } = [];
    /// <summary>
    /// Base64 of 32 random bytes that encrypts the Data Protection key ring (env <c>Mama__DataProtectionKey</c>);
    /// when unset, a key derived from <see cref="EncryptionKey"/> does.
    /// </summary>
    public string? DataProtectionKey { get; set; }
}

/// <summary>
/// Encrypts users' LiteLLM keys at rest with AES-256-GCM. Each ciphertext is stored with the id of the key
/// that sealed it, so the key can be rotated: new writes use the current key, old rows stay readable.
/// The user ID is bound as associated data, so a ciphertext copied onto another row does not decrypt.
/// </summary>
public sealed class KeyProtector
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int MaxIdleCiphers = 32;
    private readonly byte[] _current;
    private readonly Dictionary<string, byte[]> _byId;
    // Set up once and reused: a new AES-GCM context per key read cost more than the decryption itself (OpenSSL's
    // context set-up and error-queue clearing). An AesGcm is not thread-safe, so each is used by one caller at a time.
    private readonly Dictionary<string, ConcurrentBag<AesGcm>> _idle;

    public KeyProtector(byte[] current, IEnumerable<byte[]> previous)
    {
        _current = current;
        CurrentKeyId = IdOf(current);
        _byId = previous.Append(current).ToDictionary(IdOf);
        _idle = _byId.Keys.ToDictionary(id => id, _ => new ConcurrentBag<AesGcm>());
    }

    public string CurrentKeyId { get; }

    /// <summary>
    /// A key for another purpose, derived with HKDF from the encryption key with id <paramref name="keyId"/> (the
    /// current one or an earlier one) and <paramref name="label"/>; null when no such key is configured.
    /// </summary>
    public byte[]? DeriveKey(string keyId, string label) =>
        _byId.TryGetValue(keyId, out var key) ? HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: Encoding.UTF8.GetBytes(label)) : null;

    public byte[] Protect(string plaintext, string userId)
    {
        var data = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[NonceSize + data.Length + TagSize];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        var aes = Rent(CurrentKeyId, _current);
        try
        {
            aes.Encrypt(nonce, data, sealedBytes.AsSpan(NonceSize, data.Length), sealedBytes.AsSpan(NonceSize + data.Length), Encoding.UTF8.GetBytes(userId));
        }
        finally
        {
            Return(CurrentKeyId, aes);
        }
        return sealedBytes;
    }

    public string Unprotect(byte[] sealedBytes, string keyId, string userId)
    {
        if (!_byId.TryGetValue(keyId, out var key))
            throw new CryptographicException($"No encryption key with id {keyId} is configured (see Mama:PreviousEncryptionKeys).");
        var length = sealedBytes.Length - NonceSize - TagSize;
        var plaintext = new byte[length];
        var aes = Rent(keyId, key);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize, length), sealedBytes.AsSpan(NonceSize + length), plaintext, Encoding.UTF8.GetBytes(userId));
        }
        finally
        {
            Return(keyId, aes);
        }
        return Encoding.UTF8.GetString(plaintext);
    }

    private AesGcm Rent(string keyId, byte[] key) => _idle[keyId].TryTake(out var aes) ? aes : new AesGcm(key, TagSize);

    private void Return(string keyId, AesGcm aes)
    {
        var idle = _idle[keyId];
        if (idle.Count < MaxIdleCiphers) idle.Add(aes);
        else aes.Dispose();
    }

    /// <summary>The key, or null if it does not decrypt: damaged, or sealed with a key that is not configured.</summary>
    public string? TryUnprotect(byte[] sealedBytes, string keyId, string userId)
    {
        try
        {
            return Unprotect(sealedBytes, keyId, userId);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>409, not a 5xx: the user exists but its stored key does not decrypt, and retrying will not help until an admin acts.</summary>
    public static ProblemException Unreadable(string userId) => new(409, "Key unreadable",
        $"The stored key of user '{userId}' cannot be decrypted (damaged, or sealed with an encryption key that is no longer configured). " +
        "An admin must configure the previous encryption key or re-create the user.")
    {
        Extensions = { ["reason"] = KeyUnreadable },
    };

    public const string KeyUnreadable = "key_unreadable";

    /// <summary>A new LiteLLM key: "sk-" and 43 URL-safe characters (256 random bits).</summary>
    public static string NewLiteLlmKey() =>
        "sk-" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string IdOf(byte[] key)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData([.. "mama-key-id:"u8, .. key], hash);
        return Convert.ToHexStringLower(hash[..8]);
    }

    public static KeyProtector Create(EncryptionOptions options, IHostEnvironment env, string dataPath) =>
        new(CurrentKey(options, env, dataPath), PreviousKeys(options));

    /// <summary>The configured encryption key; in Development, one generated once into the data folder.</summary>
    public static byte[] CurrentKey(EncryptionOptions options, IHostEnvironment env, string dataPath) =>
        !string.IsNullOrWhiteSpace(options.EncryptionKey)
            ? Decode(options.EncryptionKey, EncryptionOptionsValidator.Setting)
            : env.IsDevelopment()
                ? SecretFile.ReadOrCreate(Path.Combine(dataPath, "encryption.key"), 32)
                : throw new InvalidOperationException(EncryptionOptionsValidator.Missing);

    public static IEnumerable<byte[]> PreviousKeys(EncryptionOptions options) =>
        options.PreviousEncryptionKeys.Select((k, i) => Decode(k, EncryptionOptionsValidator.PreviousSetting(i)));

    internal static byte[] Decode(string base64, string setting) => SecretSetting.Decode(base64, setting, 32, exact: true);
}

/// <summary>Outside Development the secrets must be configured: checked at start, with a message naming the setting.</summary>
public sealed class EncryptionOptionsValidator(IHostEnvironment env) : IValidateOptions<EncryptionOptions>
{
    public const string Setting = "Mama:EncryptionKey";
    public const string DataProtectionSetting = "Mama:DataProtectionKey";
    public const string Missing = "Mama:EncryptionKey (env Mama__EncryptionKey) is required outside Development: base64 of 32 random bytes.";

    public static string PreviousSetting(int index) => $"Mama:PreviousEncryptionKeys:{index}";

    public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
    {
        List<string?> problems = string.IsNullOrWhiteSpace(options.EncryptionKey)
            ? [env.IsDevelopment() ? null : Missing]
            : [SecretSetting.Problem(options.EncryptionKey, Setting, 32, exact: true)];
        problems.AddRange(options.PreviousEncryptionKeys.Select((k, i) => SecretSetting.Problem(k, PreviousSetting(i), 32, exact: true)));
        if (!string.IsNullOrWhiteSpace(options.DataProtectionKey))
            problems.Add(SecretSetting.Problem(options.DataProtectionKey, DataProtectionSetting, 32, exact: true));
        var failures = problems.OfType<string>().ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public sealed class JwtOptionsValidator(IHostEnvironment env) : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options) =>
        string.IsNullOrWhiteSpace(options.SigningKey)
            ? env.IsDevelopment() ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(JwtOptions.Missing)
            : SecretSetting.Problem(options.SigningKey, JwtOptions.Setting, JwtOptions.MinBytes) is { } problem
                ? ValidateOptionsResult.Fail(problem)
                : ValidateOptionsResult.Success;
}
