using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

/// <summary>Starts the real mama process, as an operator would, and reads what it prints.</summary>
public sealed partial class StartupTests
{
    private static readonly string EncryptionKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    /// <summary>Everything Production needs; each bad-setting case spoils one thing.</summary>
    private static Dictionary<string, string?> ValidProduction() => new()
    {
        ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
        ["Mama__EncryptionKey"] = EncryptionKey,
        ["Mama__BootstrapAdminPassword"] = "start-up-test-password",
        ["LiteLlm__BaseUrl"] = "http://127.0.0.1:9",
        ["LiteLlm__MasterKey"] = "sk-master",
    };

    [Fact]
    public async Task ProductionWithoutSecretsOrLiteLlmRefusesToStartWithOneLineNamingEachSetting()
    {
        var run = await RunMamaAsync(new Dictionary<string, string?>());

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (var setting in new[] { "Mama:Jwt:SigningKey", "Mama:EncryptionKey", "LiteLlm:BaseUrl", "LiteLlm:MasterKey" })
            Assert.Contains(setting, line);
    }

    [Fact]
    public async Task ProductionWithSecretsButNoLiteLlmNamesOnlyTheLiteLlmSettings()
    {
        var run = await RunMamaAsync(new Dictionary<string, string?>
        {
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["Mama__EncryptionKey"] = EncryptionKey,
            ["LiteLlm__MasterKey"] = "sk-master",
        });

        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("LiteLlm:BaseUrl", line);
        Assert.DoesNotContain("MasterKey", line);
        Assert.DoesNotContain("sk-master", line);
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "Mama:Jwt:SigningKey", "Mama__Jwt__SigningKey", "not*base64*at*all" },
        { "Mama:Jwt:SigningKey", "Mama__Jwt__SigningKey", Base64Of(16) },
        { "Mama:EncryptionKey", "Mama__EncryptionKey", "secret-looking-but-not-base64!" },
        { "Mama:EncryptionKey", "Mama__EncryptionKey", Base64Of(31) },
        { "Mama:EncryptionKey", "Mama__EncryptionKey", Base64Of(64) },
        { "Mama:PreviousEncryptionKeys:0", "Mama__PreviousEncryptionKeys__0", "unreadable-previous-key" },
        { "Mama:PreviousEncryptionKeys:1", "Mama__PreviousEncryptionKeys__0|Mama__PreviousEncryptionKeys__1", Base64Of(32) + "|" + Base64Of(24) },
        { "Mama:DataProtectionKey", "Mama__DataProtectionKey", Base64Of(16) },
        { "Mama:DataProtectionKey", "Mama__DataProtectionKey", "%%%not-base64%%%" },
        { "ConnectionStrings:Mama", "Database__Provider", "postgres" },
        { "ConnectionStrings:Mama", "Database__Provider|ConnectionStrings__Mama", "postgres|Host=db;Password=hunter2-secret;No Such Option=1" },
        { "Database:Provider", "Database__Provider", "oracle" },
        { "ForwardedHeaders:KnownProxies", "ForwardedHeaders__KnownProxies", "10.0.0.1,proxy.internal" },
        { "ForwardedHeaders:KnownNetworks", "ForwardedHeaders__KnownNetworks", "10.0.0.0/33" },
        { "Mama:ApiDocs", "Mama__ApiDocs", "sometimes" },
        { "Mama:BootstrapAdminPassword", "Mama__BootstrapAdminPassword", "ADMIN" },
        { "Mama:BootstrapAdminPassword", "Mama__BootstrapAdminPassword", "short-pw" },
        { "LiteLlm:KeyAliasPattern", "LiteLlm__KeyAliasPattern", "team-[a-z.+" },
        { "LiteLlm:KeyAliasPattern", "LiteLlm__KeyAliasPattern", "team-[a-z]+)(.x" },
        { "Mama:Metrics:Token", "Mama__Metrics__Prometheus", "true" },
        { "Mama:Metrics:Token", "Mama__Metrics__Prometheus|Mama__Metrics__Token", "true|too-short" },
        { "Mama:Audit:Stream:Secret", "Mama__Audit__Stream__Url", "https://siem.example.com/in" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task ABadSettingStopsTheStartWithOneLineNamingItAndNoStackTrace(string setting, string variables, string values)
    {
        var environment = ValidProduction();
        foreach (var (name, value) in variables.Split('|').Zip(values.Split('|'))) environment[name] = value;

        var run = await RunMamaAsync(environment);

        Assert.NotEqual(0, run.ExitCode);
        var output = run.Stdout + run.Stderr;
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("mama cannot start:", StringComparison.Ordinal));
        Assert.Contains(setting, line);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Unhandled exception", output);
        foreach (var value in values.Split('|').Where(v => v != "postgres" && v != "oracle" && !v.Contains('.')))
            Assert.DoesNotContain(value, output); // a secret's value is never printed
        Assert.DoesNotContain("hunter2", output);
    }

    [Fact]
    public async Task ProductionWithValidSecretsStartsServesTheSignInPageAndKeepsTheKeyRingEncrypted()
    {
        var run = await RunMamaAsync(ValidProduction(), async baseUrl =>
        {
            using var http = new HttpClient { BaseAddress = baseUrl };
            var login = await http.GetAsync("/login"); // the antiforgery token makes the first Data Protection key
            Assert.Equal(System.Net.HttpStatusCode.OK, login.StatusCode);
            Assert.Contains("__RequestVerificationToken", await login.Content.ReadAsStringAsync());
        });

        Assert.Contains("Now listening on", run.Stdout);
        Assert.DoesNotContain("No XML encryptor configured", run.Stdout + run.Stderr);
        Assert.DoesNotContain("mama cannot start", run.Stdout + run.Stderr);
    }

    private static string Base64Of(int bytes) => Convert.ToBase64String(Enumerable.Repeat((byte)7, bytes).ToArray());

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    /// <summary>
    /// Runs mama in Production with only the given settings. Without <paramref name="whileRunning"/> it is expected
    /// to stop by itself; with it, that runs against the started process, which is then stopped.
    /// </summary>
    private static async Task<Run> RunMamaAsync(Dictionary<string, string?> environment, Func<Uri, Task>? whileRunning = null)
    {
        var data = Directory.CreateTempSubdirectory("mama-start-");
        try
        {
            var start = MamaProcess.StartInfo(data.FullName, environment, "Production", "http://127.0.0.1:0");

            using var process = new Process { StartInfo = start };
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stdout) stdout.AppendLine(e.Data);
                if (ListeningOn().Match(e.Data) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            // A guard against a hang, not a timing: a cold `dotnet Mama.dll` beside a full test run on 2 cores can take a while.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            if (whileRunning is not null)
            {
                var exited = process.WaitForExitAsync(timeout.Token);
                var first = await Task.WhenAny(listening.Task, exited);
                Assert.True(first == listening.Task, "mama started: " + stdout + stderr);
                try { await whileRunning(await listening.Task); }
                finally { process.Kill(entireProcessTree: true); }
            }
            await process.WaitForExitAsync(timeout.Token);
            process.WaitForExit(); // drains the output events
            lock (stdout) lock (stderr) return new Run(process.ExitCode, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
