using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mama.Tests.Infrastructure;

/// <summary>The real mama process, started as an operator would (<c>dotnet Mama.dll</c>) on a free loopback port.</summary>
public sealed class MamaProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private MamaProcess(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
        ProcessId = process.Id;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri BaseUrl { get; }
    /// <summary>The process's id: <c>dotnet Mama.dll</c> runs mama in this very process.</summary>
    public int ProcessId { get; }
    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts mama in <paramref name="environmentName"/> with only the given settings (as environment variables).</summary>
    public static async Task<MamaProcess> StartAsync(string dataFolder, IReadOnlyDictionary<string, string?> environment, string environmentName = "Production")
    {
        var port = FreePort();
        var start = StartInfo(dataFolder, environment, environmentName, $"http://127.0.0.1:{port}");
        var process = new MamaProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        await process.WaitUntilLiveAsync();
        return process;
    }

    /// <summary>
    /// How mama is started: only the given settings, none inherited from the test run's own environment, the data
    /// folder as working directory and data path, output captured.
    /// </summary>
    public static ProcessStartInfo StartInfo(string dataFolder, IReadOnlyDictionary<string, string?> environment, string environmentName, string urls)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Mama.dll")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = dataFolder,
        };
        string[] inherited = ["Mama__", "LiteLlm__", "Database__", "ConnectionStrings__", "ForwardedHeaders__", "ASPNETCORE_", "DOTNET_ENVIRONMENT", "Urls"];
        foreach (var name in start.Environment.Keys.Where(k => inherited.Any(k.StartsWith)).ToList())
            start.Environment.Remove(name);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = environmentName;
        start.Environment["Mama__DataPath"] = dataFolder;
        start.Environment["Urls"] = urls;
        foreach (var (key, value) in environment) start.Environment[key] = value;
        return start;
    }

    /// <summary>Runs a verb (<c>dotnet Mama.dll import …</c>) to its end: its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunVerbAsync(string dataFolder, IReadOnlyDictionary<string, string?> environment, IEnumerable<string> args, string environmentName = "Production")
    {
        var start = StartInfo(dataFolder, environment, environmentName, "http://127.0.0.1:0");
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// The settings of a Production mama that syncs against <paramref name="proxy"/> fast enough for a test: short leases,
    /// intervals and backoffs, sign-in unthrottled. Callers change entries for what their test is about.
    /// </summary>
    public static Dictionary<string, string?> SyncingEnvironment(string provider, string connectionString, Uri proxy) => new()
    {
        ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
        ["Mama__EncryptionKey"] = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()),
        ["Mama__BootstrapAdminPassword"] = MamaApp.BootstrapPassword,
        ["Mama__SignIn__AttemptsPerMinutePerAddress"] = "1000000",
        ["Database__Provider"] = provider,
        ["ConnectionStrings__Mama"] = connectionString,
        ["LiteLlm__BaseUrl"] = proxy.ToString(),
        ["LiteLlm__MasterKey"] = MamaApp.MasterKey,
        ["LiteLlm__Timeout"] = "00:00:10",
        ["LiteLlm__InlineSyncBudget"] = "00:00:01",
        ["LiteLlm__ReconcileInterval"] = "00:00:00.250",
        ["LiteLlm__SyncLease"] = "00:00:04",
        ["LiteLlm__SyncLeaseRenewal"] = "00:00:01",
        ["LiteLlm__InitialBackoff"] = "00:00:00.200",
        ["LiteLlm__MaxBackoff"] = "00:00:02",
        ["LiteLlm__DriftCheckInterval"] = "00:00:03",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    /// <summary>A client signed in as the fixture's super admin (bootstrap password already changed), patient with a loaded machine.</summary>
    public async Task<HttpClient> SignInSuperAdminAsync()
    {
        var client = CreateClient();
        client.Timeout = TimeSpan.FromSeconds(60);
        client.DefaultRequestHeaders.Authorization = new("Bearer", (await MamaApp.TokenAsync(client, "admin", MamaApp.SuperAdminPassword)).AccessToken);
        return client;
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseUrl };

    private async Task WaitUntilLiveAsync()
    {
        using var client = CreateClient();
        await MamaApp.EventuallyAsync(async () =>
        {
            if (_process.HasExited) Assert.Fail($"mama exited with {_process.ExitCode}: {Output}");
            try { return (await client.GetAsync("/health/live")).StatusCode == HttpStatusCode.OK; }
            catch (HttpRequestException) { return false; }
        }, "mama answers /health/live", TimeSpan.FromSeconds(60));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
