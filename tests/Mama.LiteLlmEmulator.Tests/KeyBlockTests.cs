namespace Mama.LiteLlmEmulator.Tests;

public sealed class KeyBlockTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task BlockingAKeyReturnsTheRowAndTheKeyStopsAuthenticating()
    {
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["organization_id"] = "org-9" }))["key"]!;

        var reply = await fixture.Admin.PostAsync("/key/block", new JsonObject { ["key"] = key });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["token"]);
        Assert.True(reply.Obj["blocked"]!.GetValue<bool>());
        Assert.Equal("org-9", (string?)reply.Obj["org_id"]);
        using var proxy = fixture.As(key);
        Assert.Equal(HttpStatusCode.Unauthorized, (await proxy.GetAsync("/v1/models")).Status);
    }

    [Fact]
    public async Task UnblockingAKeyLetsItAuthenticateAgain()
    {
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["blocked"] = true }))["key"]!;

        var reply = await fixture.Admin.PostAsync("/key/unblock", new JsonObject { ["key"] = Sha.Hash(key) });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.False(reply.Obj["blocked"]!.GetValue<bool>());
        using var proxy = fixture.As(key);
        Assert.Equal(HttpStatusCode.OK, (await proxy.GetAsync("/v1/models")).Status);
    }

    [Fact]
    public async Task BlockingAnUnknownKeyIs401TokenNotFoundInDb()
    {
        var reply = await fixture.Admin.PostAsync("/key/block", new JsonObject { ["key"] = "sk-doesNotExist000000000" });

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            $"Authentication Error, Invalid proxy server token passed. key={Sha.Hash("sk-doesNotExist000000000")}, not found in db. Create key via `/key/generate` call.",
            "token_not_found_in_db",
            "key");
    }
}
