using System.Net;
using System.Text.RegularExpressions;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Mama.Tests.Admins;

/// <summary>Production never runs with admin/admin: the real process, started as an operator would.</summary>
public sealed partial class ProductionBootstrapTests : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private DirectoryInfo? _data;

    private Dictionary<string, string?> Secrets => new()
    {
        ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
        ["Mama__EncryptionKey"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()),
        ["LiteLlm__BaseUrl"] = _emulator!.BaseUrl.ToString(),
        ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
    };

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _data = Directory.CreateTempSubdirectory("mama-prod-");
    }

    [Fact]
    public async Task WithoutABootstrapPasswordTheFirstStartPrintsAOneTimePasswordOnceThatMustBeChanged()
    {
        string password;
        await using (var mama = await MamaProcess.StartAsync(_data!.FullName, Secrets))
        {
            using var client = mama.CreateClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostJsonAsync("/api/v1/auth/token", new { username = "admin", password = "admin" })).StatusCode);
            await MamaApp.EventuallyAsync(() => Task.FromResult(PrintedPassword().IsMatch(mama.Output)), "the one-time password is printed");
            password = PrintedPassword().Match(mama.Output).Groups[1].Value;
            Assert.Single(PrintedPassword().Matches(mama.Output));

            var token = await MamaApp.TokenAsync(client, "admin", password);
            Assert.True(token.MustChangePassword);
            client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
            await (await client.GetAsync("/api/v1/users")).AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        // Nothing but the console saw it: not the database (audit included), not a file in the data folder.
        SqliteConnection.ClearAllPools();
        foreach (var file in _data.EnumerateFiles("*", SearchOption.AllDirectories))
            Assert.DoesNotContain(password, await ReadSharedAsync(file.FullName));

        await using var restarted = await MamaProcess.StartAsync(_data.FullName, Secrets);
        using var again = restarted.CreateClient();
        Assert.True((await MamaApp.TokenAsync(again, "admin", password)).MustChangePassword);
        Assert.DoesNotContain(password, restarted.Output);
        Assert.DoesNotContain("one-time password", restarted.Output);
    }

    [Fact]
    public async Task APasswordFromTheEnvironmentIsUsedPrintedNowhereAndMustBeChanged()
    {
        var secrets = Secrets;
        secrets["Mama__BootstrapAdminPassword"] = "chosen-by-the-operator";
        await using var mama = await MamaProcess.StartAsync(_data!.FullName, secrets);
        using var client = mama.CreateClient();

        Assert.True((await MamaApp.TokenAsync(client, "admin", "chosen-by-the-operator")).MustChangePassword);
        Assert.DoesNotContain("chosen-by-the-operator", mama.Output);
        Assert.DoesNotContain("one-time password", mama.Output);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null) await _emulator.DisposeAsync();
        try { _data?.Delete(recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"one-time password[^\n]*\n\s*\n\s+(\S+)")]
    private static partial Regex PrintedPassword();
}
