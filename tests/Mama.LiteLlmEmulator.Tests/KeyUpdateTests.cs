using System.Globalization;

namespace Mama.LiteLlmEmulator.Tests;

public sealed class KeyUpdateTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private async Task<JsonObject> NewKeyAsync() => await fixture.Admin.GenerateAsync(new JsonObject
    {
        ["key_alias"] = EmulatorFixture.Unique("upd"),
        ["models"] = new JsonArray("gpt-4o", "gpt-4o-mini"),
        ["metadata"] = new JsonObject { ["managed_by"] = "mama", ["org"] = "acme" },
        ["max_budget"] = 10.0,
        ["tpm_limit"] = 1000,
    });

    private async Task<JsonObject> InfoAsync(string key) => (await fixture.Admin.GetAsync($"/key/info?key={key}")).Obj["info"]!.AsObject();

    [Fact]
    public async Task TheResponseEchoesTheKeyAsSentAndCarriesTheHashAsToken()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["rpm_limit"] = 5 });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(key, (string?)reply.Obj["key"]);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["token"]);
        Assert.Equal(5, reply.Obj["rpm_limit"]!.GetValue<int>());
        Assert.Equal("sk-..." + key[^4..], (string?)reply.Obj["key_name"]);
    }

    [Fact]
    public async Task OnlyTheFieldsPresentInTheRequestChange()
    {
        var created = await NewKeyAsync();
        var key = (string)created["key"]!;

        await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["rpm_limit"] = 7 });

        var info = await InfoAsync(key);
        Assert.Equal((string?)created["key_alias"], (string?)info["key_alias"]);
        Assert.Equal(1000, info["tpm_limit"]!.GetValue<int>());
        Assert.Equal(10.0, info["max_budget"]!.GetValue<double>());
        Assert.Equal(2, info["models"]!.AsArray().Count);
    }

    [Fact]
    public async Task ModelsAndMetadataAreReplacedNotMerged()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        await fixture.Admin.PostAsync("/key/update", new JsonObject
        {
            ["key"] = key,
            ["models"] = new JsonArray("claude-sonnet-4"),
            ["metadata"] = new JsonObject { ["mama_key_id"] = "k-1" },
        });

        var info = await InfoAsync(key);
        Assert.Equal(["claude-sonnet-4"], info["models"]!.AsArray().Select(m => (string)m!));
        Assert.Equal("""{"mama_key_id":"k-1"}""", info["metadata"]!.ToJsonString());
    }

    [Fact]
    public async Task AnExplicitNullIsWrittenThrough()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["max_budget"] = null, ["key_alias"] = null });

        var info = await InfoAsync(key);
        Assert.Null(info["max_budget"]);
        Assert.Null(info["key_alias"]);
    }

    [Fact]
    public async Task TheKeyMayBeGivenAsItsHash()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = Sha.Hash(key), ["blocked"] = true });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["key"]);
        Assert.True(reply.Obj["blocked"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ADurationSetsExpiresFromNowAndNullClearsIt()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        var withExpiry = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["duration"] = "1h" });
        var updatedAt = DateTimeOffset.Parse((string)withExpiry.Obj["updated_at"]!, CultureInfo.InvariantCulture);
        var expires = DateTimeOffset.Parse((string)withExpiry.Obj["expires"]!, CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(1), expires - updatedAt);

        var cleared = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["duration"] = null });
        Assert.Null(cleared.Obj["expires"]);
    }

    [Fact]
    public async Task UpdatingAMissingKeyIs401UserKeyDoesNotExistInDb()
    {
        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = "sk-doesNotExist000000000", ["rpm_limit"] = 1 });

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            "Authentication Error: invalid user key - user key does not exist in db. User Key=sk-doesNotExist000000000",
            "auth_error",
            "None");
    }

    [Fact]
    public async Task KeepingTheKeysOwnAliasIsAllowed()
    {
        var created = await NewKeyAsync();

        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = created["key"]!.DeepClone(), ["key_alias"] = created["key_alias"]!.DeepClone() });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task TakingAnotherKeysAliasIsRejected()
    {
        var other = await NewKeyAsync();
        var key = (string)(await NewKeyAsync())["key"]!;
        var alias = (string)other["key_alias"]!;

        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["key_alias"] = alias });

        reply.AssertError(
            HttpStatusCode.BadRequest,
            $"Key with alias '{alias}' already exists. Unique key aliases across all keys are required.",
            "bad_request_error",
            "key_alias");
    }

    [Fact]
    public async Task AnAliasClearedByAnExplicitNullIsFreeForANewKeyAndTheOldKeyStaysWithoutOne()
    {
        var old = await NewKeyAsync();
        var alias = (string)old["key_alias"]!;
        var taken = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias });
        Assert.Equal(HttpStatusCode.BadRequest, taken.Status);

        var cleared = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = old["key"]!.DeepClone(), ["key_alias"] = null });
        var successor = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias });

        Assert.Equal(HttpStatusCode.OK, cleared.Status);
        Assert.Equal(HttpStatusCode.OK, successor.Status);
        Assert.Null((await InfoAsync((string)old["key"]!))["key_alias"]);
        Assert.Equal(alias, (string?)(await InfoAsync((string)successor.Obj["key"]!))["key_alias"]);
        var back = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = old["key"]!.DeepClone(), ["key_alias"] = alias });
        Assert.Equal(HttpStatusCode.BadRequest, back.Status);
    }

    [Fact]
    public async Task ANegativeMaxBudgetIsABadRequestTypedAuthError()
    {
        var key = (string)(await NewKeyAsync())["key"]!;

        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["max_budget"] = -5 });

        reply.AssertError(HttpStatusCode.BadRequest, "{'error': 'max_budget cannot be negative. Received: -5.0'}", "auth_error", "None");
    }

    [Fact]
    public async Task AMissingKeyFieldIsAFastApi422()
    {
        var reply = await fixture.Admin.PostAsync("/key/update", new JsonObject { ["models"] = new JsonArray("gpt-4o") });

        var item = reply.AssertValidationError();
        Assert.Equal("missing", (string?)item["type"]);
        Assert.Equal("""["body","key"]""", item["loc"]!.ToJsonString());
    }
}
