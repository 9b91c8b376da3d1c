namespace Mama.LiteLlmEmulator.Tests;

/// <summary>The switches that make the emulator look like a particular proxy; each test starts its own emulator because it changes global state.</summary>
public sealed class ProxySwitchesTests
{
    [Theory]
    [InlineData("team..a")]
    [InlineData("../etc")]
    [InlineData("tab\there")]
    [InlineData("nul\u0000")]
    public async Task AliasesWithPathTraversalOrControlCharactersAreRefusedOnGenerateWithoutAPattern(string alias)
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias });

        reply.AssertError(HttpStatusCode.BadRequest, "Invalid key_alias", "bad_request_error", "key_alias");
        Assert.DoesNotContain(emulator.Control.GetKeys(), k => k.KeyAlias == alias);
    }

    [Fact]
    public async Task AnUpdateToAnAliasWithPathTraversalIsRefusedAndTheKeyKeepsItsAlias()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["key_alias"] = "fine" }))["key"]!;

        var reply = await admin.PostAsync("/key/update", new JsonObject { ["key"] = key, ["key_alias"] = "a..b" });

        reply.AssertError(HttpStatusCode.BadRequest, "Invalid key_alias", "bad_request_error", "key_alias");
        Assert.Equal("fine", emulator.Control.FindKey(key)!.KeyAlias);
    }

    [Fact]
    public async Task WithAPatternTheWholeAliasMustMatchOnGenerateAndUpdateButAnUnchangedAliasIsNotChecked()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var legacy = (string)(await admin.GenerateAsync(new JsonObject { ["key_alias"] = "Legacy Key" }))["key"]!;

        var state = await admin.PutAsync("/_emulator/key-alias-pattern", new JsonObject { ["pattern"] = "team-[a-z]+" });
        var partial = await admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = "team-search-2" });
        var whole = await admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = "team-search" });
        var unchanged = await admin.PostAsync("/key/update", new JsonObject { ["key"] = legacy, ["key_alias"] = "Legacy Key", ["models"] = new JsonArray("gpt-4o") });
        var renamed = await admin.PostAsync("/key/update", new JsonObject { ["key"] = legacy, ["key_alias"] = "Still Bad" });

        Assert.Equal("team-[a-z]+", (string?)state.Obj["key_alias_pattern"]);
        const string Refusal = "Invalid key_alias format. Must be at most 255 characters and match the configured key_alias_pattern: team-[a-z]+";
        partial.AssertError(HttpStatusCode.BadRequest, Refusal, "bad_request_error", "key_alias");
        Assert.Equal(HttpStatusCode.OK, whole.Status);
        Assert.Equal(HttpStatusCode.OK, unchanged.Status);
        renamed.AssertError(HttpStatusCode.BadRequest, Refusal, "bad_request_error", "key_alias");
    }

    [Fact]
    public async Task APatternThatDoesNotCompileIsRefusedByTheControlRouteAndResetClearsThePattern()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var bad = await admin.PutAsync("/_emulator/key-alias-pattern", new JsonObject { ["pattern"] = "team-[" });
        await admin.PutAsync("/_emulator/key-alias-pattern", new JsonObject { ["pattern"] = "x" });
        var reset = await admin.PostAsync("/_emulator/reset", new JsonObject());

        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Null(reset.Obj["key_alias_pattern"]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = "anything-goes" })).Status);
    }

    [Fact]
    public async Task TheVersionSwitchSetsWhatReadinessAnswersUntilReset()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var before = await admin.GetAsync("/health/readiness");
        var state = await admin.PutAsync("/_emulator/version", new JsonObject { ["version"] = "1.82.7" });
        var after = await admin.GetAsync("/health/readiness");
        await admin.PostAsync("/_emulator/reset", new JsonObject());
        var reset = await admin.GetAsync("/health/readiness");

        Assert.Equal(EmulatorControl.DefaultVersion, (string?)before.Obj["litellm_version"]);
        Assert.Equal("1.82.7", (string?)state.Obj["version"]);
        Assert.Equal("1.82.7", (string?)after.Obj["litellm_version"]);
        Assert.Equal(EmulatorControl.DefaultVersion, (string?)reset.Obj["litellm_version"]);
    }

    [Fact]
    public async Task ExtraEntriesAreMixedIntoTheModelListButNotIntoModelInfo()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = ["gpt-4o", "o3"]);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var state = await admin.PutAsync("/_emulator/model-list-extras", new JsonObject { ["entries"] = new JsonArray("alice", "beta-group", "no-default-models") });
        var list = await admin.GetAsync("/v1/models");
        var info = await admin.GetAsync("/model/info");

        Assert.Equal(3, state.Obj["model_list_extras"]!.AsArray().Count);
        Assert.Equal(["gpt-4o", "o3", "alice", "beta-group", "no-default-models"], list.Obj["data"]!.AsArray().Select(m => (string)m!["id"]!));
        Assert.Equal(["gpt-4o", "o3"], info.Obj["data"]!.AsArray().Select(m => (string)m!["model_name"]!));
    }

    [Fact]
    public async Task AccessGroupsAppearInModelInfoAndAKeyNamingAGroupSeesItsModels()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = ["gpt-4o", "o3", "claude-sonnet-4"]);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/access-groups", new JsonObject { ["groups"] = new JsonObject { ["beta"] = new JsonArray("o3", "claude-sonnet-4") } });
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["models"] = new JsonArray("beta") }))["key"]!;
        using var proxy = new Proxy(emulator.BaseUrl, key);

        var info = await admin.GetAsync("/v2/model/info");
        var visible = await proxy.GetAsync("/v1/models");

        var groups = info.Obj["data"]!.AsArray().ToDictionary(m => (string)m!["model_name"]!, m => m!["model_info"]!["access_groups"]?.AsArray().Select(g => (string)g!).ToList());
        Assert.Null(groups["gpt-4o"]);
        Assert.Equal(["beta"], groups["o3"]);
        Assert.Equal(["beta"], groups["claude-sonnet-4"]);
        Assert.Equal(["o3", "claude-sonnet-4"], visible.Obj["data"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Theory]
    [InlineData("/model/info")]
    [InlineData("/v1/model/info")]
    [InlineData("/v2/model/info")]
    public async Task WithoutModelInfoTheInfoRoutesAnswer404AndTheModelListStillWorks(string path)
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var state = await admin.PutAsync("/_emulator/model-info", new JsonObject { ["available"] = false });
        var info = await admin.GetAsync(path);
        var list = await admin.GetAsync("/v1/models");

        Assert.False((bool)state.Obj["model_info_available"]!);
        Assert.Equal(HttpStatusCode.NotFound, info.Status);
        Assert.Equal("Not Found", (string?)info.Obj["detail"]);
        Assert.Equal(HttpStatusCode.OK, list.Status);
    }
}
