using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.ApiClients;

namespace Mama.Tests.Infrastructure;

/// <summary>Keys that exist on the proxy before mama knows them: made with the master key, as LiteLLM's UI or a script would.</summary>
public static class PlantedKeys
{
    public static string NewKey() => "sk-planted-" + Guid.NewGuid().ToString("N");

    public static async Task PlantAsync(this MamaApp app, string alias, string key, string[]? models = null, object? metadata = null)
    {
        using var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        proxy.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        var response = await proxy.PostAsJsonAsync("/key/generate", new { key, key_alias = alias, models = models ?? ["gpt-4o"], metadata = metadata ?? new { team = "ops" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>An API client for key lookups (scope all), and its token for the legacy endpoints.</summary>
    public static async Task<(HttpClient Client, string Name)> NewLookupClientAsync(this MamaApp app, HttpClient admin)
    {
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "all" })).ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return (client, name);
    }
}
