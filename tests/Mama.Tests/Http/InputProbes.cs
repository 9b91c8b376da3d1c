using System.Net;
using System.Text;
using Mama.ApiClients;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Http;

/// <summary>Helpers of the bad-input tests: raw requests, and what the database holds before and after them.</summary>
public static class InputProbes
{
    /// <summary>A request with the body exactly as written (so it can hold nulls and escapes a serializer would not produce).</summary>
    public static Task<HttpResponseMessage> SendRawAsync(this HttpClient client, string method, string path, string? json = null) =>
        client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"),
        });

    /// <summary>Everything an edit could change about one user, to show that a refused request changed nothing.</summary>
    public static async Task<string> UserStateAsync(this MamaApp app, string userId)
    {
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.AsNoTracking().Include(u => u.AllowedModels).Include(u => u.AllowedServices).SingleAsync(u => u.UserId == userId);
        return string.Join(" | ", user.Organization, user.ModelNames, user.ServiceNames, user.ExtraInfo, user.Version, user.DeletedAt,
            string.Join(',', user.AllowedModels.Select(m => m.Name).Order()), string.Join(',', user.AllowedServices.Select(s => s.Name).Order()));
    }

    /// <summary>How many users, admins and API clients exist and how many audit events say access was denied.</summary>
    public static async Task<(int Users, int Admins, int Clients, int Denials)> CountsAsync(this MamaApp app)
    {
        await using var db = app.NewDbContext();
        return (await db.KeyUsers.CountAsync(), await db.Users.CountAsync(), await db.ApiClients.CountAsync(),
            await db.AuditEvents.CountAsync(e => e.Action == "access.denied"));
    }

    /// <summary>A new API client allowed every user, as an HttpClient that sends its token.</summary>
    public static async Task<HttpClient> NewApiClientAsync(this MamaApp app)
    {
        using var admin = await app.SuperAdminAsync();
        var name = "client-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await admin.PostJsonAsync("/api/v1/api-clients", new { name, service = "billing", scope = "all" }))
            .ReadAsync<CreatedApiClientResponse>(HttpStatusCode.Created);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-API-Key", created.Token);
        return client;
    }
}
