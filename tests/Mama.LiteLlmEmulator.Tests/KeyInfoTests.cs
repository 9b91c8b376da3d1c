namespace Mama.LiteLlmEmulator.Tests;

public sealed class KeyInfoTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task InfoReturnsTheKeyAsSentAndTheRowWithoutItsToken()
    {
        var alias = EmulatorFixture.Unique("info");
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias, ["user_id"] = "bob" }))["key"]!;

        var reply = await fixture.Admin.GetAsync($"/key/info?key={key}");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(key, (string?)reply.Obj["key"]);
        var info = reply.Obj["info"]!.AsObject();
        Assert.False(info.ContainsKey("token"));
        Assert.Equal(alias, (string?)info["key_alias"]);
        Assert.Equal("bob", (string?)info["user_id"]);
        Assert.Equal("sk-..." + key[^4..], (string?)info["key_name"]);
        Assert.EndsWith("+00:00", (string?)info["created_at"]);
        foreach (var column in new[] { "spend", "expires", "models", "metadata", "blocked", "max_budget", "tpm_limit", "rpm_limit", "team_id" })
        {
            Assert.True(info.ContainsKey(column), column);
        }
    }

    [Fact]
    public async Task InfoAcceptsTheHashInsteadOfTheRawKey()
    {
        var key = (string)(await fixture.Admin.GenerateAsync())["key"]!;

        var reply = await fixture.Admin.GetAsync($"/key/info?key={Sha.Hash(key)}");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["key"]);
    }

    [Fact]
    public async Task AnUnknownKeyIs404KeyNotFoundInDatabase()
    {
        var reply = await fixture.Admin.GetAsync("/key/info?key=sk-doesNotExist000000000");

        reply.AssertError(HttpStatusCode.NotFound, "Key not found in database", "not_found_error", "key");
    }

    [Fact]
    public async Task WithoutAKeyParameterInfoReportsOnTheCallersKey()
    {
        var reply = await fixture.Admin.GetAsync("/key/info");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("default_user_id", (string?)reply.Obj["info"]!["user_id"]);
    }

    [Fact]
    public async Task InfoNeedsAKey()
    {
        var reply = await fixture.Anonymous.GetAsync("/key/info?key=sk-anything");

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
    }
}
