namespace Mama.LiteLlmEmulator.Tests;

/// <summary>The custom-key switches of /key/generate and the generate that stalls after storing; each test starts its own emulator.</summary>
public sealed class KeyPolicyTests
{
    [Fact]
    public async Task WithCustomKeysDisabledAGenerateWithAKeyIsRefusedWith403AndNothingIsStored()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/custom-keys", new JsonObject { ["disabled"] = true });
        var alias = EmulatorFixture.Unique("refused");

        var reply = await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-custom-" + Guid.NewGuid().ToString("N"), ["key_alias"] = alias });

        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("403", (string?)reply.Obj["error"]!["code"]);
        Assert.Contains("disable_custom_api_keys", (string?)reply.Obj["error"]!["message"]);
        Assert.DoesNotContain(emulator.Control.GetKeys(), k => k.KeyAlias == alias);
        Assert.Equal(1, emulator.Control.KeyPolicy.RefusedCustomKeys);
    }

    [Fact]
    public async Task WithCustomKeysDisabledAGenerateWithoutAKeyMintsOneAndReturnsItOnce()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/custom-keys", new JsonObject { ["disabled"] = true });
        var alias = EmulatorFixture.Unique("minted");

        var body = await admin.GenerateAsync(new JsonObject { ["key_alias"] = alias });

        var key = (string)body["key"]!;
        Assert.StartsWith("sk-", key);
        Assert.Equal(Sha.Hash(key), (string?)body["token"]);
        Assert.Equal(key, Assert.Single(emulator.Control.GetKeys(), k => k.KeyAlias == alias).Key);
        var info = await admin.GetAsync("/key/info?key=" + Sha.Hash(key));
        Assert.False(info.Obj["info"]!.AsObject().ContainsKey("key"));
        Assert.Equal(1, emulator.Control.KeyPolicy.MintedKeys);
    }

    [Fact]
    public async Task ACustomKeyShorterThanTheMinimumLengthIsA400NamingTheLength()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-short-key" });

        reply.AssertError(
            HttpStatusCode.BadRequest,
            "{'error': 'Invalid key format. LiteLLM Virtual Key must be at least 16 characters long.'}",
            "internal_server_error",
            "None");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-sixteen-chars" })).Status);
    }

    [Fact]
    public async Task TheMinimumLengthCanBeRaisedAndTheResetRestoresTheDefaults()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var state = await admin.PutAsync("/_emulator/custom-keys", new JsonObject { ["minimum_length"] = 64, ["disabled"] = false });
        Assert.Equal(64, state.Obj["key_policy"]!["minimum_custom_key_length"]!.GetValue<int>());

        var refused = await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("at least 64 characters", (string?)refused.Obj["error"]!["message"]);

        await admin.PostAsync("/_emulator/reset", new JsonObject());
        var policy = (await admin.GetAsync("/_emulator/state")).Obj["key_policy"]!;
        Assert.Equal(16, policy["minimum_custom_key_length"]!.GetValue<int>());
        Assert.False(policy["custom_keys_disabled"]!.GetValue<bool>());
        Assert.Equal(0, policy["refused_custom_keys"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-" + Guid.NewGuid().ToString("N") })).Status);
    }

    [Fact]
    public async Task ANegativeMinimumLengthIsRefusedByTheControlApi()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PutAsync("/_emulator/custom-keys", new JsonObject { ["minimum_length"] = -1 });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal(16, emulator.Control.KeyPolicy.MinimumCustomKeyLength);
    }

    [Fact]
    public async Task AStalledGenerateStoresItsKeyBeforeAnsweringAndAnswersOnceReleased()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var state = await admin.PutAsync("/_emulator/generate-stall", new JsonObject { ["stall"] = true });
        Assert.True(state.Obj["key_policy"]!["stall_generate_after_store"]!.GetValue<bool>());
        var alias = EmulatorFixture.Unique("stalled");

        var answer = admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias });
        await EventuallyAsync(() => emulator.Control.KeyPolicy.StalledGenerates == 1);
        var stored = Assert.Single(emulator.Control.GetKeys(), k => k.KeyAlias == alias);
        Assert.False(answer.IsCompleted);
        var listed = await admin.GetAsync($"/key/list?key_alias={alias}&return_full_object=true");
        Assert.Equal(stored.Token, (string?)Assert.Single(listed.Obj["keys"]!.AsArray())!["token"]);

        await admin.PutAsync("/_emulator/generate-stall", new JsonObject { ["stall"] = false });

        var reply = await answer;
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(stored.Key, (string?)reply.Obj["key"]);
        Assert.Equal(0, emulator.Control.KeyPolicy.StalledGenerates);
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
