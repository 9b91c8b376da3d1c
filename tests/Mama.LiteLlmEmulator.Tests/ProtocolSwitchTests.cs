namespace Mama.LiteLlmEmulator.Tests;

/// <summary>The request log, the no-database switch and key types; each test starts its own emulator because it changes global state.</summary>
public sealed class ProtocolSwitchTests
{
    [Fact]
    public async Task TheRequestLogHoldsEveryProxyRequestWithItsQueryStringButNoControlRequest()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync())["key"]!;
        await admin.GetAsync("/key/info?key=" + key);
        await admin.GetAsync("/_emulator/state");

        var reply = await admin.GetAsync("/_emulator/requests");

        var logged = reply.Obj["requests"]!.AsArray().Select(r => ((string)r!["method"]!, (string)r["url"]!)).ToList();
        Assert.Equal([("POST", "/key/generate"), ("GET", "/key/info?key=" + key)], logged);
        Assert.Equal(logged, emulator.Control.Requests.Snapshot().Select(r => (r.Method, r.Url)));
    }

    [Fact]
    public async Task ResetEmptiesTheRequestLog()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.GetAsync("/key/list?page=1");

        await admin.PostAsync("/_emulator/reset", new JsonObject());

        Assert.Empty(emulator.Control.Requests.Snapshot());
        Assert.Equal(0, (await admin.GetAsync("/_emulator/state")).Obj["requests_logged"]!.GetValue<int>());
    }

    [Fact]
    public async Task WithoutItsDatabaseTheProxyAnswersKeyRoutesWith503NoDbConnectionAndEverythingElseAsUsual()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var state = await admin.PutAsync("/_emulator/no-db", new JsonObject { ["down"] = true });

        Assert.True(state.Obj["no_db"]!.GetValue<bool>());
        foreach (var reply in new[]
                 {
                     await admin.PostAsync("/key/generate", new JsonObject()), await admin.GetAsync("/key/info?key=" + Sha.Hash("sk-any-key-0000")),
                     await admin.PostAsync("/key/update", new JsonObject { ["key"] = Sha.Hash("sk-any-key-0000") }), await admin.GetAsync("/key/list"),
                 })
        {
            reply.AssertError(
                HttpStatusCode.ServiceUnavailable,
                "Service Unavailable, the authentication database is temporarily unreachable. Please retry shortly.",
                "no_db_connection",
                "None");
        }
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health/liveliness")).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/models")).Status);
        Assert.Single(emulator.Control.GetKeys()); // only the master key's row: nothing was generated

        await admin.PutAsync("/_emulator/no-db", new JsonObject { ["down"] = false });
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject())).Status);
    }

    [Fact]
    public async Task ResetSwitchesTheDatabaseBackOn()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        emulator.Control.NoDb = true;

        await admin.PostAsync("/_emulator/reset", new JsonObject());

        Assert.False(emulator.Control.NoDb);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/key/list")).Status);
    }

    [Theory]
    [InlineData("llm_api", "llm_api_routes")]
    [InlineData("management", "management_routes")]
    [InlineData("read_only", "info_routes")]
    public async Task AKeyTypeIsStoredAsItsAllowedRoutesPreset(string keyType, string route)
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var created = await admin.GenerateAsync(new JsonObject { ["key_alias"] = "typed", ["key_type"] = keyType });

        Assert.Equal([route], created["allowed_routes"]!.AsArray().Select(r => (string)r!));
        var info = (await admin.GetAsync("/key/info?key=" + (string)created["token"]!)).Obj["info"]!.AsObject();
        Assert.Equal([route], info["allowed_routes"]!.AsArray().Select(r => (string)r!));
        Assert.False(info.ContainsKey("key_type"));
        Assert.Equal(keyType, emulator.Control.FindKey((string)created["key"]!)!.KeyType);
    }

    [Fact]
    public async Task AKeyWithoutKeyTypeHasNoRoutePresetAndAnUnknownKeyTypeIs422()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var plain = await admin.GenerateAsync(new JsonObject { ["key_type"] = "default" });
        var refused = await admin.PostAsync("/key/generate", new JsonObject { ["key_type"] = "superuser" });

        Assert.Empty(plain["allowed_routes"]!.AsArray());
        Assert.Null(emulator.Control.FindKey((string)plain["key"]!)!.KeyType);
        Assert.Equal(["body", "key_type"], refused.AssertValidationError()["loc"]!.AsArray().Select(l => (string)l!));
    }

    [Fact]
    public async Task EveryRouteThatNamesAKeyAcceptsItsHashInPlaceOfTheKey()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["key_alias"] = "by-hash", ["metadata"] = new JsonObject { ["note"] = "x" } }))["key"]!;
        var hash = Sha.Hash(key);

        Assert.Equal("by-hash", (string?)(await admin.GetAsync("/key/info?key=" + hash)).Obj["info"]!["key_alias"]);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/update", new JsonObject { ["key"] = hash, ["models"] = new JsonArray("o3") })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/block", new JsonObject { ["key"] = hash })).Status);
        var row = emulator.Control.FindKey(key)!;
        Assert.Equal(["o3"], row.Models);
        Assert.True(row.Blocked);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray(hash) })).Status);
        Assert.Null(emulator.Control.FindKey(key));
        Assert.DoesNotContain(emulator.Control.Requests.Snapshot(), r => r.Url.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARefusalAnswersItsRouteWithTheStatusAndTheKeyAsSentUntilLifted()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync())["key"]!;
        await admin.PutAsync("/_emulator/refusal", new JsonObject { ["route"] = "/key/update", ["status"] = 403, ["message"] = "Edits of key={key} are not allowed" });

        var refused = await admin.PostAsync("/key/update", new JsonObject { ["key"] = Sha.Hash(key), ["models"] = new JsonArray("o3") });

        refused.AssertError(HttpStatusCode.Forbidden, $"Edits of key={Sha.Hash(key)} are not allowed", "auth_error", "None");
        Assert.Empty(emulator.Control.FindKey(key)!.Models);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject())).Status);
        await admin.PutAsync("/_emulator/refusal", new JsonObject { ["route"] = "/key/update", ["status"] = null });
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/update", new JsonObject { ["key"] = Sha.Hash(key) })).Status);
    }

    [Fact]
    public async Task A422RefusalHasFastApisDetailShapeAndResetLiftsEveryRefusal()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        emulator.Control.SetRefusal("/key/generate", 422, "key {key} is not acceptable");

        var refused = await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-custom-key-000001" });

        Assert.Equal("key sk-custom-key-000001 is not acceptable", (string?)refused.AssertValidationError()["msg"]);
        await admin.PostAsync("/_emulator/reset", new JsonObject());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject())).Status);
    }

    [Fact]
    public async Task ARefusalWithAStatusThatIsNoRefusalIs400FromTheControlApi()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PutAsync("/_emulator/refusal", new JsonObject { ["route"] = "/key/update", ["status"] = 500 });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
    }
}
