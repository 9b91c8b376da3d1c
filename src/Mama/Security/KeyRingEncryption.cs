using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Mama.Security;

/// <summary>
/// The keys that encrypt the Data Protection key ring at rest: <c>Mama:DataProtectionKey</c> if set, else one
/// derived from <c>Mama:EncryptionKey</c> with HKDF (its own label, so the two uses never share a key). Keys
/// derived from the previous encryption keys still decrypt, so rotating the encryption key keeps sessions.
/// </summary>
public sealed class KeyRingKeys
{
    private static readonly byte[] DerivationLabel = "mama data-protection key ring v1"u8.ToArray();
    private readonly Dictionary<string, byte[]> _byId = [];

    public KeyRingKeys(byte[] current, IEnumerable<byte[]> previous)
    {
        Current = current;
        CurrentId = IdOf(current);
        foreach (var key in previous.Prepend(current)) _byId.TryAdd(IdOf(key), key);
    }

    public byte[] Current { get; }
    public string CurrentId { get; }

    public byte[]? Find(string id) => _byId.GetValueOrDefault(id);

    public static KeyRingKeys Create(EncryptionOptions options, IHostEnvironment env, string dataPath)
    {
        var derived = KeyProtector.PreviousKeys(options).Prepend(KeyProtector.CurrentKey(options, env, dataPath)).Select(Derive).ToList();
        return string.IsNullOrWhiteSpace(options.DataProtectionKey)
            ? new KeyRingKeys(derived[0], derived.Skip(1))
            : new KeyRingKeys(KeyProtector.Decode(options.DataProtectionKey, EncryptionOptionsValidator.DataProtectionSetting), derived);
    }

    private static byte[] Derive(byte[] encryptionKey) => HKDF.DeriveKey(HashAlgorithmName.SHA256, encryptionKey, 32, info: DerivationLabel);

    private static string IdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData([.. "mama-key-ring-id:"u8, .. key])[..8]);
}

/// <summary>Seals a key's secret with AES-256-GCM under <see cref="KeyRingKeys.Current"/>.</summary>
public sealed class KeyRingEncryptor(KeyRingKeys keys) : IXmlEncryptor
{
    internal const int NonceSize = 12;
    internal const int TagSize = 16;
    internal static readonly byte[] AssociatedData = "mama data-protection key"u8.ToArray();

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceSize + plaintext.Length + TagSize];
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(0, NonceSize));
        using (var aes = new AesGcm(keys.Current, TagSize))
            aes.Encrypt(sealedBytes.AsSpan(0, NonceSize), plaintext, sealedBytes.AsSpan(NonceSize, plaintext.Length), sealedBytes.AsSpan(NonceSize + plaintext.Length), AssociatedData);
        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement("encryptedKey",
            new XAttribute("keyId", keys.CurrentId),
            new XAttribute("algorithm", "AES-256-GCM"),
            new XComment(" Encrypted with Mama:DataProtectionKey, or a key derived from Mama:EncryptionKey. "),
            Convert.ToBase64String(sealedBytes));
        return new EncryptedXmlInfo(element, typeof(KeyRingDecryptor));
    }
}

/// <summary>
/// Opens what <see cref="KeyRingEncryptor"/> sealed. Data Protection finds it by the type name stored beside the
/// ciphertext and constructs it with the application's services.
/// </summary>
public sealed class KeyRingDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var keyId = (string?)encryptedElement.Attribute("keyId") ?? "";
        var key = services.GetRequiredService<KeyRingKeys>().Find(keyId)
            ?? throw new CryptographicException($"The Data Protection key is encrypted with key {keyId}, which is not configured (Mama:DataProtectionKey, Mama:EncryptionKey, Mama:PreviousEncryptionKeys).");
        var sealedBytes = Convert.FromBase64String(encryptedElement.Value.Trim());
        var length = sealedBytes.Length - KeyRingEncryptor.NonceSize - KeyRingEncryptor.TagSize;
        if (length < 0) throw new CryptographicException("The encrypted Data Protection key is truncated.");
        var plaintext = new byte[length];
        using (var aes = new AesGcm(key, KeyRingEncryptor.TagSize))
            aes.Decrypt(sealedBytes.AsSpan(0, KeyRingEncryptor.NonceSize), sealedBytes.AsSpan(KeyRingEncryptor.NonceSize, length),
                sealedBytes.AsSpan(KeyRingEncryptor.NonceSize + length), plaintext, KeyRingEncryptor.AssociatedData);
        try { return XElement.Parse(Encoding.UTF8.GetString(plaintext)); }
        finally { CryptographicOperations.ZeroMemory(plaintext); }
    }
}
