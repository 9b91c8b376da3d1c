using System.Security.Cryptography;
using Mama.LiteLlmEmulator;

namespace Mama.LiteLlm;

/// <summary>
/// With <c>LiteLlm:UseEmulator=true</c> (the Development default) mama hosts a LiteLLM emulator on a free
/// loopback port and talks to it over HTTP like to a real proxy, so a machine without LiteLLM can run mama.
/// </summary>
public sealed class HostedLiteLlmEmulator(LiteLlmEndpoint endpoint, ILogger<HostedLiteLlmEmulator> logger) : IHostedService, IAsyncDisposable
{
    private RunningEmulator? _emulator;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var masterKey = "sk-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = masterKey }, cancellationToken);
        endpoint.BaseUrl = _emulator.BaseUrl;
        endpoint.MasterKey = masterKey;
        logger.LogWarning("Using the built-in LiteLLM emulator at {Url} (LiteLlm:UseEmulator=true). Keys exist only in this process's memory.", _emulator.BaseUrl);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null) await _emulator.DisposeAsync();
        _emulator = null;
    }
}
