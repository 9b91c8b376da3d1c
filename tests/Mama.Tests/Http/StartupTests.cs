using Mama.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Mama.Tests.Http;

public sealed class StartupTests
{
    [Fact]
    public async Task ProductionWithoutASigningKeyRefusesToStartAndNamesTheSetting()
    {
        await using var database = await TestDatabase.CreateAsync("sqlite");
        await using var host = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseEnvironment("Production");
            b.UseSetting("ConnectionStrings:Mama", database.ConnectionString);
            b.UseSetting("Mama:DataPath", database.Folder);
        });

        var error = Assert.ThrowsAny<Exception>(() => host.Server);
        Assert.Contains("Mama:Jwt:SigningKey", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }
}
