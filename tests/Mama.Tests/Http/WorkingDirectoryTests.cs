using System.Net;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.Http;

/// <summary>The built app started as an operator would, from a folder that is not the app's own.</summary>
public sealed class WorkingDirectoryTests
{
    [Fact]
    public async Task StartedFromAnotherFolderInDevelopmentItReadsTheSettingsNextToItselfAndKeepsItsDataInThatFolder()
    {
        var folder = Directory.CreateTempSubdirectory("mama-elsewhere-");
        try
        {
            Assert.False(File.Exists(Path.Combine(folder.FullName, "appsettings.Development.json")));
            // No data path: the default, ./data under the working directory.
            await using var mama = await MamaProcess.StartAsync(folder.FullName, new Dictionary<string, string?> { ["Mama__DataPath"] = null }, "Development");
            using var client = mama.CreateClient();

            HttpStatusCode status = default;
            await MamaApp.EventuallyAsync(async () => (status = (await client.GetAsync("/health/ready")).StatusCode) == HttpStatusCode.OK,
                "mama answers /health/ready", TimeSpan.FromSeconds(60));

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains("built-in LiteLLM emulator", mama.Output); // appsettings.Development.json was read
            Assert.True(File.Exists(Path.Combine(folder.FullName, "data", "mama.db")), mama.Output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
