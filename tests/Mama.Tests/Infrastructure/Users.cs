using System.Net;
using System.Net.Http.Json;
using Mama.Users;

namespace Mama.Tests.Infrastructure;

public static class UserTestData
{
    public static string NewId(string prefix = "u") => $"{prefix}-{Guid.NewGuid():N}"[..20];

    public static object Row(string userId, string organization = "acme", string[]? models = null, string[]? services = null, string extraInfo = "") =>
        new { user_id = userId, organization, allowed_models = models ?? ["gpt-4o"], allowed_services = services ?? ["billing"], extra_info = extraInfo };

    public static async Task<UsersChangedResponse> CreateUsersAsync(this HttpClient admin, IEnumerable<object> rows, bool allowUnknownModels = false) =>
        await (await admin.PostJsonAsync("/api/v1/users", new { users = rows.ToArray(), allow_unknown_models = allowUnknownModels }))
            .ReadAsync<UsersChangedResponse>(HttpStatusCode.Created);

    public static async Task<List<string>> CreateUsersAsync(this HttpClient admin, int count, string[]? models = null, string[]? services = null, string organization = "acme")
    {
        var ids = Enumerable.Range(0, count).Select(_ => NewId()).ToList();
        await admin.CreateUsersAsync(ids.Select(id => Row(id, organization, models, services)));
        return ids;
    }

    public static async Task<EditUsersResponse> EditAsync(this HttpClient admin, IReadOnlyList<string> ids, object? models = null, object? services = null)
    {
        var response = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users")
        {
            Content = JsonContent.Create(new { user_ids = ids, allowed_models = models, allowed_services = services }),
        });
        return await response.ReadAsync<EditUsersResponse>();
    }
}

public static class EmulatorExtensions
{
    public static Mama.LiteLlmEmulator.EmulatedKey? FindKeyByAlias(this Mama.LiteLlmEmulator.EmulatorControl control, string alias) =>
        control.GetKeys().SingleOrDefault(k => k.KeyAlias == alias);
}
