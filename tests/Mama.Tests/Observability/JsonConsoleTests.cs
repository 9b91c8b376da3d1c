using System.Text.Json;
using Mama.LiteLlmEmulator;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Observability;

/// <summary>The console formatter is ASP.NET Core's own; this checks mama's settings leave it working on the real process.</summary>
public sealed class JsonConsoleTests : IAsyncLifetime
{
    private RunningEmulator? _emulator;
    private TestDatabase? _database;

    public async ValueTask InitializeAsync()
    {
        _emulator = await LiteLlmEmulatorHost.StartAsync(new EmulatorOptions { Port = 0, MasterKey = MamaApp.MasterKey }, CancellationToken.None);
        _database = await TestDatabase.CreateAsync("sqlite");
    }

    [Fact]
    public async Task WithTheJsonFormatterEveryConsoleLineIsOneJsonObject()
    {
        var environment = MamaProcess.SyncingEnvironment("sqlite", _database!.ConnectionString, _emulator!.BaseUrl);
        environment["Logging__Console__FormatterName"] = "json";
        environment["Logging__LogLevel__Default"] = "Information";
        await using var mama = await MamaProcess.StartAsync(_database.Folder, environment);
        await MamaApp.EventuallyAsync(() => Task.FromResult(mama.Output.Contains("Application started", StringComparison.Ordinal)), "the start-up lines are written");

        var lines = mama.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.NotEmpty(lines);
        Assert.All(lines, line =>
        {
            using var json = JsonDocument.Parse(line);
            Assert.True(json.RootElement.TryGetProperty("LogLevel", out _), line);
            Assert.True(json.RootElement.TryGetProperty("Message", out _), line);
            Assert.DoesNotContain(MamaApp.MasterKey, line);
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null) await _database.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
    }
}
