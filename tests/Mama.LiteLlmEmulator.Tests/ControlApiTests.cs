using System.Diagnostics;

namespace Mama.LiteLlmEmulator.Tests;

/// <summary>The /_emulator routes and the hosting entry point; each test starts its own emulator because it changes global state.</summary>
public sealed class ControlApiTests
{
    [Fact]
    public async Task StartingOnPortZeroListensOnAFreeLoopbackPort()
    {
        await using var first = await EmulatorFixture.StartAsync();
        await using var second = await EmulatorFixture.StartAsync();

        Assert.Equal("127.0.0.1", first.BaseUrl.Host);
        Assert.NotEqual(0, first.BaseUrl.Port);
        Assert.NotEqual(first.BaseUrl.Port, second.BaseUrl.Port);
        Assert.Equal(EmulatorFixture.MasterKey, first.MasterKey);
    }

    [Fact]
    public async Task LatencyDelaysProxyRoutesButNotTheControlApi()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/latency", new JsonObject { ["ms"] = 300 });

        var slow = Stopwatch.StartNew();
        await admin.GetAsync("/health/liveliness");
        slow.Stop();
        var fast = Stopwatch.StartNew();
        await admin.GetAsync("/_emulator/state");
        fast.Stop();

        Assert.True(slow.ElapsedMilliseconds >= 280, $"took {slow.ElapsedMilliseconds} ms");
        Assert.True(fast.ElapsedMilliseconds < 250, $"took {fast.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task AnErrorRateOfOneAnswersEveryRequestWithA500Envelope()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/error-rate", new JsonObject { ["rate"] = 1.0 });

        var reply = await admin.GetAsync("/key/list");

        Assert.Equal(HttpStatusCode.InternalServerError, reply.Status);
        Assert.Equal("500", (string?)reply.Obj["error"]!["code"]);
        Assert.Equal("internal_server_error", (string?)reply.Obj["error"]!["type"]);
    }

    [Fact]
    public async Task APerRouteErrorRateOnlyAffectsThatRoute()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/error-rate", new JsonObject { ["rate"] = 1.0, ["route"] = "/key/generate" });

        Assert.Equal(HttpStatusCode.InternalServerError, (await admin.PostAsync("/key/generate", new JsonObject())).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/key/list")).Status);
    }

    [Fact]
    public async Task WhenDownTheConnectionIsDroppedAtOnceAndTheControlApiStillAnswers()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/down", new JsonObject { ["down"] = true });

        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => admin.GetAsync("/health/liveliness"));
        watch.Stop();
        Assert.True(watch.ElapsedMilliseconds < 2000, $"took {watch.ElapsedMilliseconds} ms");

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsync("/_emulator/down", new JsonObject { ["down"] = false })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/health/liveliness")).Status);
    }

    [Fact]
    public async Task SettingTheModelListChangesWhatTheProxyServes()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        await admin.PutAsync("/_emulator/models", new JsonObject { ["models"] = new JsonArray("o3", "o4-mini") });

        var reply = await admin.GetAsync("/v1/models");
        Assert.Equal(["o3", "o4-mini"], reply.Obj["data"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Fact]
    public async Task TheKeysRouteShowsFullRowsWithRawKeys()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["key_alias"] = "seen" }))["key"]!;

        var reply = await admin.GetAsync("/_emulator/keys");

        var row = reply.Obj["keys"]!.AsArray().Single(k => (string?)k!["key_alias"] == "seen")!;
        Assert.Equal(key, (string?)row["key"]);
        Assert.Equal(Sha.Hash(key), (string?)row["token"]);
    }

    [Fact]
    public async Task ResetForgetsKeysAndFaultsButKeepsTheMasterKeyRow()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.GenerateAsync();
        await admin.PutAsync("/_emulator/error-rate", new JsonObject { ["rate"] = 1.0, ["route"] = "/key/list" });

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/_emulator/reset", new JsonObject())).Status);

        var list = await admin.GetAsync("/key/list");
        Assert.Equal(HttpStatusCode.OK, list.Status);
        Assert.Equal([Sha.Hash(EmulatorFixture.MasterKey)], list.Obj["keys"]!.AsArray().Select(k => (string)k!));
    }

    [Fact]
    public async Task DuplicateKeyAndDeleteModesCanBeSwitchedAtRunTime()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var state = await admin.PutAsync("/_emulator/duplicate-key-mode", new JsonObject { ["mode"] = "reject" });
        await admin.PutAsync("/_emulator/delete-mode", new JsonObject { ["legacy"] = true });

        Assert.Equal("reject", (string?)state.Obj["duplicate_key_mode"]);
        await admin.GenerateAsync(new JsonObject { ["key"] = "sk-twice-00000001" });
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-twice-00000001" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PostAsync("/key/delete", new JsonObject { ["keys"] = new JsonArray("sk-gone-000000001") })).Status);
    }

    [Fact]
    public async Task AnInvalidControlValueIsABadRequest()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.PutAsync("/_emulator/error-rate", new JsonObject { ["rate"] = 2.0 });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
    }

    [Fact]
    public async Task TheControlObjectFindsStoredKeysByRawKeyOrHash()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["metadata"] = new JsonObject { ["managed_by"] = "mama" } }))["key"]!;

        var byRaw = emulator.Control.FindKey(key);
        var byHash = emulator.Control.FindKey(Sha.Hash(key));

        Assert.NotNull(byRaw);
        Assert.Equal(byRaw.Token, byHash?.Token);
        Assert.Equal(key, byRaw.Key);
        Assert.Equal("mama", (string?)byRaw.Metadata["managed_by"]);
        Assert.Equal(2, emulator.Control.GetKeys().Count);
    }

    [Fact]
    public async Task AStrictGatewayRefusesChunkedBodiesWith411AndTheStateCountsHowBodiesCame()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/require-content-length", new JsonObject { ["require"] = true });

        var chunked = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/key/generate") { Content = ChunkedJson("{}") });
        var sized = await admin.PostAsync("/key/generate", new JsonObject());

        Assert.Equal(HttpStatusCode.LengthRequired, chunked.Status);
        Assert.Equal(HttpStatusCode.OK, sized.Status);
        Assert.Equal(2, emulator.Control.GetKeys().Count);
        var bodies = (await admin.GetAsync("/_emulator/state")).Obj["bodies"]!;
        Assert.Equal(1, (int)bodies["chunked"]!);
        Assert.Equal(1, (int)bodies["content_length"]!);
    }

    [Fact]
    public async Task ByDefaultChunkedBodiesAreAcceptedAndCounted()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/key/generate") { Content = ChunkedJson("{}") });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(1, emulator.Control.ChunkedBodies);
        Assert.Equal(0, emulator.Control.SizedBodies);
    }

    /// <summary>A body of unknown length, which HttpClient sends with <c>Transfer-Encoding: chunked</c>.</summary>
    private static HttpContent ChunkedJson(string json)
    {
        var content = new StreamContent(new UnseekableStream(System.Text.Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task TheCallsRouteCountsGeneratesPerKeyAndTheMostRequestsInFlightAtOnce()
    {
        await using var emulator = await EmulatorFixture.StartAsync();
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.PutAsync("/_emulator/latency", new JsonObject { ["ms"] = 300, ["route"] = "/key/info" });
        const string key = "sk-counted-00000001";
        await admin.GenerateAsync(new JsonObject { ["key"] = key, ["key_alias"] = "counted" });

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => admin.GetAsync("/key/info?key=" + key)));
        await admin.GetAsync("/key/info?key=sk-other-000000001");

        var calls = (await admin.GetAsync("/_emulator/calls")).Obj["keys"]!.AsArray();
        var counted = calls.Single(k => (string?)k!["token"] == Sha.Hash(key))!;
        Assert.Equal(("counted", 4, 1, 3), ((string?)counted["key_alias"], (int)counted["calls"]!, (int)counted["generated"]!, (int)counted["max_in_flight"]!));
        var other = calls.Single(k => (string?)k!["token"] == Sha.Hash("sk-other-000000001"))!;
        Assert.Equal((0, 1), ((int)other["generated"]!, (int)other["max_in_flight"]!));

        await admin.PostAsync("/_emulator/reset", new JsonObject());
        Assert.Empty((await admin.GetAsync("/_emulator/calls")).Obj["keys"]!.AsArray());
    }
}
