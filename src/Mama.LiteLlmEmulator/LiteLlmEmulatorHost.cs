using System.Net;
using Mama.LiteLlmEmulator.Control;
using Mama.LiteLlmEmulator.Health;
using Mama.LiteLlmEmulator.Http;
using Mama.LiteLlmEmulator.Keys;
using Mama.LiteLlmEmulator.Models;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Mama.LiteLlmEmulator;

/// <summary>Starts the emulator on its own Kestrel server on 127.0.0.1, for tests and for mama with LiteLlm:UseEmulator=true.</summary>
public static class LiteLlmEmulatorHost
{
    public static async Task<RunningEmulator> StartAsync(EmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.MasterKey);

        // An empty builder so the host app's configuration (appsettings, ASPNETCORE_URLS, logging) never leaks in.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(LiteLlmEmulatorHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Services.AddRoutingCore();
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.PropertyNamingPolicy = EmulatorJson.Options.PropertyNamingPolicy);
        if (options.LogToConsole)
        {
            builder.Logging.AddSimpleConsole(console => console.SingleLine = true).SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        if (!options.Standalone)
        {
            builder.Services.AddSingleton<IHostLifetime, OwnedLifetime>();
        }

        var control = new EmulatorControl(options);
        builder.Services.AddSingleton(control);

        var app = builder.Build();
        app.UseProxyPipeline(control);
        app.MapHealthApi();
        app.MapKeysApi();
        app.MapModelsApi();
        app.MapControlApi();

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningEmulator(app, new Uri(address), control);
    }
}

/// <summary>A started emulator; dispose it to stop the server.</summary>
public sealed class RunningEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningEmulator(WebApplication app, Uri baseUrl, EmulatorControl control)
    {
        _app = app;
        BaseUrl = baseUrl;
        Control = control;
    }

    /// <summary>e.g. http://127.0.0.1:41234/ (with the trailing slash HttpClient.BaseAddress wants).</summary>
    public Uri BaseUrl { get; }

    public string MasterKey => Control.MasterKey;

    public EmulatorControl Control { get; }

    /// <summary>Completes when the server is asked to stop (Ctrl+C or SIGTERM for the command-line runner).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed class OwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
