namespace Mama.LiteLlmEmulator.Tests;

/// <summary>One emulator per test class, on a free loopback port.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public const string MasterKey = "sk-master-1234";

    public RunningEmulator Emulator { get; private set; } = null!;

    /// <summary>Calls with the master key, as mama does.</summary>
    public Proxy Admin { get; private set; } = null!;

    public Proxy Anonymous { get; private set; } = null!;

    public Proxy As(string key) => new(Emulator.BaseUrl, key);

    public static Task<RunningEmulator> StartAsync(Action<EmulatorOptions>? configure = null)
    {
        var options = new EmulatorOptions { MasterKey = MasterKey };
        configure?.Invoke(options);
        return LiteLlmEmulatorHost.StartAsync(options, TestContext.Current.CancellationToken);
    }

    public async ValueTask InitializeAsync()
    {
        Emulator = await StartAsync();
        Admin = new Proxy(Emulator.BaseUrl, MasterKey);
        Anonymous = new Proxy(Emulator.BaseUrl, null);
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        Anonymous.Dispose();
        await Emulator.DisposeAsync();
    }

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";
}
