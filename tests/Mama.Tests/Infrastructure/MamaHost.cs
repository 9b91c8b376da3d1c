using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Mama.Tests.Infrastructure;

/// <summary>The real app on a test database. Two hosts on one database are a restart.</summary>
public sealed class MamaHost(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, Action<IWebHostBuilder>? configure = null) : WebApplicationFactory<Program>
{
    public const string SigningKey = "dGVzdC1zaWduaW5nLWtleS10aGF0LWlzLWxvbmctZW5vdWdoLWZvci1obWFjLTI1Ng==";

    public TestDatabase Database { get; } = database;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:Provider", Database.Provider);
        builder.UseSetting("ConnectionStrings:Mama", Database.ConnectionString);
        builder.UseSetting("Mama:DataPath", Database.Folder);
        builder.UseSetting("Mama:Jwt:SigningKey", SigningKey);
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        // A collection is the whole process's: the many hosts of a test run would each run one (IdleMemoryTrimTests turns it on).
        builder.UseSetting("Mama:Memory:TrimWhenIdle", "false");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            builder.UseSetting(key, value);
        configure?.Invoke(builder);
    }
}
