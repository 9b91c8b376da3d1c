using System.Diagnostics;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

/// <summary>Starts the real mama process, as an operator would, and reads what it prints.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task ProductionWithoutSecretsOrLiteLlmRefusesToStartWithOneLineNamingEachSetting()
    {
        var (exitCode, stderr) = await RunMamaAsync(new Dictionary<string, string?>());

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (var setting in new[] { "Mama:Jwt:SigningKey", "Mama:EncryptionKey", "LiteLlm:BaseUrl", "LiteLlm:MasterKey" })
            Assert.Contains(setting, line);
    }

    [Fact]
    public async Task ProductionWithSecretsButNoLiteLlmNamesOnlyTheLiteLlmSettings()
    {
        var (exitCode, stderr) = await RunMamaAsync(new Dictionary<string, string?>
        {
            ["Mama__Jwt__SigningKey"] = MamaHost.SigningKey,
            ["Mama__EncryptionKey"] = Convert.ToBase64String(new byte[32]),
            ["LiteLlm__MasterKey"] = "sk-master",
        });

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("LiteLlm:BaseUrl", line);
        Assert.DoesNotContain("MasterKey", line);
        Assert.DoesNotContain("sk-master", line);
    }

    private static async Task<(int ExitCode, string Stderr)> RunMamaAsync(Dictionary<string, string?> environment)
    {
        var data = Directory.CreateTempSubdirectory("mama-start-");
        try
        {
            var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Mama.dll")])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                WorkingDirectory = data.FullName,
            };
            foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("Mama__") || k.StartsWith("LiteLlm__") || k.StartsWith("ASPNETCORE_") || k.StartsWith("DOTNET_ENVIRONMENT")).ToList())
                start.Environment.Remove(name);
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["Mama__DataPath"] = data.FullName;
            start.Environment["Urls"] = "http://127.0.0.1:0";
            foreach (var (key, value) in environment) start.Environment[key] = value;
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            await stdout;
            return (process.ExitCode, await stderr);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
