namespace Mama.LiteLlmEmulator.Tests;

public sealed class KeyDeleteTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private async Task<string> NewKeyAsync(string? alias = null) =>
        (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias }))["key"]!;

    [Fact]
    public async Task DeletingByKeyEchoesTheInputAndTheKeyIsGone()
    {
        var key = await NewKeyAsync();

        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray(key) });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal($$"""{"deleted_keys":["{{key}}"]}""", reply.Json.ToJsonString());
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Admin.GetAsync($"/key/info?key={key}")).Status);
    }

    [Fact]
    public async Task ADeletedKeyStopsAuthenticating()
    {
        var key = await NewKeyAsync();
        await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray(key) });
        using var proxy = fixture.As(key);

        var reply = await proxy.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
    }

    [Fact]
    public async Task DeletingByHashWorks()
    {
        var key = await NewKeyAsync();

        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray(Sha.Hash(key)) });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["deleted_keys"]![0]);
    }

    [Fact]
    public async Task DeletingByAliasEchoesTheAliases()
    {
        var alias = EmulatorFixture.Unique("del");
        var key = await NewKeyAsync(alias);

        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["key_aliases"] = new JsonArray(alias) });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(alias, (string?)reply.Obj["deleted_keys"]![0]);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Admin.GetAsync($"/key/info?key={key}")).Status);
    }

    [Fact]
    public async Task APartiallyExistingListDeletesTheExistingKeysAndAnswers200()
    {
        var key = await NewKeyAsync();

        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray(key, "sk-neverExisted0000000") });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(2, reply.Obj["deleted_keys"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Admin.GetAsync($"/key/info?key={key}")).Status);
    }

    [Fact]
    public async Task DeletingOnlyMissingKeysIs404NoKeysFoundAsAPythonDictRepr()
    {
        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray("sk-neverExisted0000000") });

        reply.AssertError(HttpStatusCode.NotFound, "{'error': 'No keys found'}", "internal_server_error", "None");
    }

    [Fact]
    public async Task KeysWinWhenBothKeysAndAliasesAreGiven()
    {
        var alias = EmulatorFixture.Unique("both");
        var aliased = await NewKeyAsync(alias);
        var key = await NewKeyAsync();

        var reply = await fixture.Admin.PostAsync("/key/delete", new JsonObject
        {
            ["keys"] = new JsonArray(key),
            ["key_aliases"] = new JsonArray(alias),
        });

        Assert.Equal(key, (string?)reply.Obj["deleted_keys"]![0]);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Admin.GetAsync($"/key/info?key={aliased}")).Status);
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"keys": []}""")]
    [InlineData("""{"keys": [], "key_aliases": []}""")]
    public async Task NeitherKeysNorAliasesIsAFastApi422(string body)
    {
        var reply = await fixture.Admin.PostRawAsync("/key/delete", body, "application/json");

        var item = reply.AssertValidationError();
        Assert.Equal("value_error", (string?)item["type"]);
        Assert.Contains("At least one of 'keys' or 'key_aliases' must be provided.", (string?)item["msg"]);
    }

    [Fact]
    public async Task InLegacyModeAMissingKeyIs400NotAllKeysPassedInWereDeleted()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.LegacyDeleteErrors = true);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray("sk-neverExisted0000000") });

        reply.AssertError(
            HttpStatusCode.BadRequest,
            "{'error': \"Not all keys passed in were deleted. This probably means you don't have access to delete all the keys passed in. Keys passed in=1, Deleted keys =0\"}",
            "auth_error",
            "None");
    }
}
