using System.Net;
using System.Text.Json;
using Mama.ApiClients;
using Mama.Http;
using Mama.Tests.Infrastructure;

namespace Mama.Tests.ApiClients;

/// <summary>The lookup answers are written by generated code; they must stay exactly what the API's shared options write.</summary>
public sealed class LookupJsonTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    public static TheoryData<LookupResponse> Answers => new()
    {
        new LookupResponse([], [], [], []),
        new LookupResponse(
            [
                new LookedUpUser("홍길동", "연구소 <R&D> \"A\"", "sk-abc+/=", ["gpt-4o", "클로드"], [], "extra\nline \u2028 \t 'q' é", "synced", true),
                new LookedUpUser("user.2@example.com", "", "sk-2", [], ["billing"], "", "conflict", false, Expired: true,
                    PreviousKey: "sk-old", PreviousKeyExpiresAt: new DateTimeOffset(2026, 11, 30, 23, 59, 58, 123, TimeSpan.Zero).AddTicks(4567)),
            ],
            ["missing-1", "없는-사람"], ["denied-1"], [new LookupFailure("broken-1", "key_unreadable")]),
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void TheGeneratedJsonIsByteForByteWhatTheSharedOptionsWrite(LookupResponse answer)
    {
        Assert.Equal(JsonSerializer.Serialize(answer, MamaJson.Options), JsonSerializer.Serialize(answer, LookupJson.Default.LookupResponse));
        foreach (var user in answer.Users)
            Assert.Equal(JsonSerializer.Serialize(user, MamaJson.Options), JsonSerializer.Serialize(user, LookupJson.Default.LookedUpUser));
    }

    [Fact]
    public async Task BothLookupEndpointsAnswerJsonWithItsCharset()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await app.NewLookupClientAsync(admin);

        var batch = await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } });
        var one = await client.GetAsync($"/api/v1/keys/{id}");

        foreach (var response in new[] { batch, one })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        }
        Assert.Equal(id, JsonDocument.Parse(await batch.Content.ReadAsStringAsync()).RootElement.GetProperty("users")[0].GetProperty("user_id").GetString());
        Assert.Equal(app.LiteLlm.FindKeyByAlias(id)!.Key, JsonDocument.Parse(await one.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetString());
    }
}
