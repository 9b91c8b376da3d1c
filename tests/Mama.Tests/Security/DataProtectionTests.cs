using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mama.Tests.Security;

/// <summary>The Data Protection key ring (it protects the sign-in cookie) is stored in the database, encrypted with a key from outside it.</summary>
public abstract class DataProtectionTests(MamaApp app)
{
    [Fact]
    public async Task TheKeyRingRowsHoldNoPlaintextKeyMaterialOnlyACiphertextThatTheConfiguredKeyOpens()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = Browser.On(app.Host);
        await browser.SignInAsync(username, password);
        Assert.True(await browser.IsSignedInAsync());

        await using var db = app.NewDbContext();
        var rows = await db.DataProtectionKeys.AsNoTracking().Select(k => k.Xml!).ToListAsync(TestContext.Current.CancellationToken);
        var sealedKeys = rows.Select(XElement.Parse).Select(key =>
        {
            Assert.DoesNotContain(key.Descendants(), e => e.Name.LocalName is "masterKey" or "value");
            var secret = Assert.Single(key.Descendants(), e => e.Name.LocalName == "encryptedSecret");
            Assert.StartsWith(typeof(KeyRingDecryptor).FullName + ",", (string?)secret.Attribute("decryptorType"));
            return secret.Elements().Single();
        }).ToList();

        // What is sealed is the key itself: the app's decryptor opens the key it signs cookies with to its master key.
        // (Other tests' hosts with other keys may have added keys that this one cannot open.)
        var opened = sealedKeys.Select(TryOpen).OfType<XElement>().ToList();
        Assert.NotEmpty(opened);
        Assert.All(opened, masterKey =>
        {
            Assert.Equal("masterKey", masterKey.Name.LocalName);
            Assert.NotEmpty(masterKey.Descendants().Single(e => e.Name.LocalName == "value").Value);
        });
    }

    private XElement? TryOpen(XElement sealedKey)
    {
        try { return new KeyRingDecryptor(app.Host.Services).Decrypt(sealedKey); }
        catch (CryptographicException) { return null; }
    }

    [Fact]
    public async Task ACookieSessionSurvivesARestartAndWorksOnASecondInstance()
    {
        var (username, password, _) = await app.NewAdminAsync();
        var first = app.StartHost();
        using var browser = Browser.On(first);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(username, password)).StatusCode);
        Assert.True(await browser.IsSignedInAsync());

        using (var onSecondInstance = browser.MoveTo(app.Host))
            Assert.True(await onSecondInstance.IsSignedInAsync(), "Another instance on the same database reads the cookie.");

        await first.DisposeAsync();
        await using var restarted = app.StartHost();
        using var afterRestart = browser.MoveTo(restarted);
        Assert.True(await afterRestart.IsSignedInAsync(), "The cookie outlives a restart.");
    }

    [Fact]
    public async Task AHostWithAnotherEncryptionKeyStartsButCannotReadTheCookieAndTheRightKeyStillCan()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = Browser.On(app.Host);
        await browser.SignInAsync(username, password);
        Assert.True(await browser.IsSignedInAsync());

        // The whole database, key ring included, in the hands of someone without mama's encryption key.
        await using (var foreign = app.StartHost(new Dictionary<string, string?> { ["Mama:EncryptionKey"] = NewKey() }))
        {
            using var stolen = browser.MoveTo(foreign);
            var page = await stolen.GetAsync("/account/password");
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.StartsWith("/login", page.Headers.Location!.PathAndQuery);

            // Its own key ring works: it made a new key rather than failing.
            using var own = Browser.On(foreign);
            Assert.Equal(HttpStatusCode.Redirect, (await own.SignInAsync(username, password)).StatusCode);
            Assert.True(await own.IsSignedInAsync());
        }

        // A restart with the right key ignores the key it cannot open and keeps the session.
        await using var restarted = app.StartHost();
        using var again = browser.MoveTo(restarted);
        Assert.True(await again.IsSignedInAsync());
    }

    [Fact]
    public async Task RotatingTheEncryptionKeyKeepsSessionsWhileTheOldKeyIsListedAsPrevious()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = Browser.On(app.Host);
        await browser.SignInAsync(username, password);
        var current = (await File.ReadAllTextAsync(Path.Combine(app.Database.Folder, "encryption.key"), TestContext.Current.CancellationToken)).Trim();

        await using var rotated = app.StartHost(new Dictionary<string, string?>
        {
            ["Mama:EncryptionKey"] = NewKey(),
            ["Mama:PreviousEncryptionKeys:0"] = current,
        });
        using var afterRotation = browser.MoveTo(rotated);
        Assert.True(await afterRotation.IsSignedInAsync());

        await using var separateKey = app.StartHost(new Dictionary<string, string?> { ["Mama:DataProtectionKey"] = NewKey() });
        using var withSeparateKey = browser.MoveTo(separateKey);
        Assert.True(await withSeparateKey.IsSignedInAsync(), "Keys sealed with the derived key stay readable after a separate key is set.");
    }

    [Fact]
    public async Task AKeyPlantedInTheTableCannotForgeASessionUnlessSealedWithMamasOwnKey()
    {
        var (username, password, _) = await app.NewAdminAsync();
        using var browser = Browser.On(app.Host);
        await browser.SignInAsync(username, password);
        var cookie = app.Host.Services.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(IdentityConstants.ApplicationScheme);
        var ticket = cookie.TicketDataFormat.Unprotect(browser.Cookies["mama.auth"])!; // what a valid session holds

        // Someone who can write to the database plants a key of their own and seals that session with it.
        var (plantedCookie, plantedKey) = Forge(ticket);
        // The same, but with the key sealed under mama's key: only someone holding Mama:EncryptionKey can do this.
        var (sealedCookie, sealedKey) = Forge(ticket);
        var info = new KeyRingEncryptor(app.Service<KeyRingKeys>()).Encrypt(MasterKeyOf(sealedKey));
        MasterKeyOf(sealedKey).ReplaceWith(new XElement(DataProtectionNamespace + "encryptedSecret",
            new XAttribute("decryptorType", info.DecryptorType.AssemblyQualifiedName!), info.EncryptedElement));
        await using (var db = app.NewDbContext())
        {
            db.DataProtectionKeys.AddRange(new DataProtectionKey { FriendlyName = "planted", Xml = plantedKey.ToString() },
                new DataProtectionKey { FriendlyName = "sealed", Xml = sealedKey.ToString() });
            await db.SaveChangesAsync(TestContext.Current.CancellationToken);
        }

        try
        {
            await using var host = app.StartHost();
            using var withPlanted = Browser.On(host);
            withPlanted.Cookies["mama.auth"] = plantedCookie;
            Assert.False(await withPlanted.IsSignedInAsync(), "A key stored in plaintext is never used.");
            using var withSealed = Browser.On(host);
            withSealed.Cookies["mama.auth"] = sealedCookie;
            Assert.True(await withSealed.IsSignedInAsync(), "The forgery itself is sound: with mama's key it would work.");
        }
        finally
        {
            // The other tests of this class read the table: leave it as mama keeps it.
            await using var db = app.NewDbContext();
            await db.DataProtectionKeys.Where(k => k.FriendlyName == "planted" || k.FriendlyName == "sealed").ExecuteDeleteAsync();
        }
    }

    private static readonly XNamespace DataProtectionNamespace = "http://schemas.asp.net/2015/03/dataProtection";

    private static (string Cookie, XElement Key) Forge(AuthenticationTicket ticket)
    {
        var folder = Directory.CreateTempSubdirectory("mama-forger-");
        try
        {
            var provider = DataProtectionProvider.Create(folder, b => b.SetApplicationName("mama"));
            var protector = provider.CreateProtector("Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationMiddleware", IdentityConstants.ApplicationScheme, "v2");
            var cookie = new TicketDataFormat(protector).Protect(ticket);
            return (cookie, XElement.Load(folder.GetFiles("key-*.xml").Single().FullName));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static XElement MasterKeyOf(XElement key) => key.Descendants().Single(e => e.Attribute(DataProtectionNamespace + "requiresEncryption") is not null);

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}

public sealed class DataProtectionTestsOnSqlite(SqliteApp app) : DataProtectionTests(app), IClassFixture<SqliteApp>;
public sealed class DataProtectionTestsOnPostgres(PostgresApp app) : DataProtectionTests(app), IClassFixture<PostgresApp>;
