using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

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

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}

public sealed class DataProtectionTestsOnSqlite(SqliteApp app) : DataProtectionTests(app), IClassFixture<SqliteApp>;
public sealed class DataProtectionTestsOnPostgres(PostgresApp app) : DataProtectionTests(app), IClassFixture<PostgresApp>;
