using System.Xml.Linq;
using Mama.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace Mama.Security;

public static class DataProtectionSetup
{
    /// <summary>
    /// The Data Protection key ring (it signs and encrypts the sign-in cookie and antiforgery tokens) is shared by
    /// every instance through the database, and encrypted there with a key that lives outside it
    /// (<see cref="KeyRingKeys"/>), so a copy of the database can neither forge a session nor read one.
    /// </summary>
    public static IServiceCollection AddMamaDataProtection(this IServiceCollection services, IHostEnvironment env, string dataPath)
    {
        services.AddSingleton(sp => KeyRingKeys.Create(sp.GetRequiredService<IOptions<EncryptionOptions>>().Value, env, dataPath));
        services.AddDataProtection().PersistKeysToDbContext<MamaDbContext>().SetApplicationName("mama");
        services.AddOptions<KeyManagementOptions>().PostConfigure<KeyRingKeys, ILoggerFactory>((o, keys, logs) =>
        {
            o.XmlEncryptor = new KeyRingEncryptor(keys);
            o.XmlRepository = new EncryptedKeysOnly(o.XmlRepository!, logs.CreateLogger<EncryptedKeysOnly>());
        });
        return services;
    }

    /// <summary>
    /// Hands the key manager only keys whose secret mama encrypted. A plaintext key in the table (written before
    /// the key ring was encrypted, or planted by someone who can write to the database) is never used; the key
    /// manager then makes a new key, which ends existing sign-ins once.
    /// </summary>
    private sealed class EncryptedKeysOnly(IXmlRepository inner, ILogger logger) : IXmlRepository
    {
        public IReadOnlyCollection<XElement> GetAllElements() => [.. inner.GetAllElements().Where(IsAcceptable)];

        public void StoreElement(XElement element, string friendlyName) => inner.StoreElement(element, friendlyName);

        private bool IsAcceptable(XElement element)
        {
            if (element.Name.LocalName != "key") return true; // revocations carry no secret
            var encrypted = element.Descendants().Any(e => e.Name.LocalName == "encryptedSecret"
                && (string?)e.Attribute("decryptorType") is { } type && type.StartsWith(typeof(KeyRingDecryptor).FullName + ",", StringComparison.Ordinal));
            if (!encrypted || element.Descendants().Any(e => e.Name.LocalName == "masterKey"))
            {
                logger.LogWarning("Ignoring Data Protection key {KeyId}: its secret is stored unencrypted.", (string?)element.Attribute("id"));
                return false;
            }
            return true;
        }
    }
}
