using System.Globalization;
using System.Text.RegularExpressions;

namespace Mama.LiteLlmEmulator.Tests;

public sealed partial class KeyGenerateTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [GeneratedRegex("^sk-[A-Za-z0-9_-]{22}$")]
    private static partial Regex GeneratedKey();

    [Fact]
    public async Task AGeneratedKeyIsSkPlus22UrlSafeCharactersAndItsTokenAndTokenIdAreItsSha256()
    {
        var body = await fixture.Admin.GenerateAsync();

        var key = (string)body["key"]!;
        Assert.Matches(GeneratedKey(), key);
        Assert.Equal(Sha.Hash(key), (string?)body["token"]);
        Assert.Equal(Sha.Hash(key), (string?)body["token_id"]);
        Assert.Equal("sk-..." + key[^4..], (string?)body["key_name"]);
    }

    [Fact]
    public async Task TheResponseReflectsWhatWasStoredAndEchoesDurationAsNullWithExpiresSet()
    {
        var alias = EmulatorFixture.Unique("gen");
        var body = await fixture.Admin.GenerateAsync(new JsonObject
        {
            ["key_alias"] = alias,
            ["models"] = new JsonArray("gpt-4o", "claude-sonnet"),
            ["user_id"] = "alice@acme.example",
            ["metadata"] = new JsonObject { ["managed_by"] = "mama" },
            ["duration"] = "30d",
            ["max_budget"] = 25.0,
            ["budget_duration"] = "30d",
            ["tpm_limit"] = 100000,
            ["rpm_limit"] = 60,
            ["max_parallel_requests"] = 10,
        });

        Assert.Equal(alias, (string?)body["key_alias"]);
        Assert.Null(body["duration"]);
        Assert.True(body.ContainsKey("duration"));
        Assert.Equal(["gpt-4o", "claude-sonnet"], body["models"]!.AsArray().Select(m => (string)m!));
        Assert.Equal("alice@acme.example", (string?)body["user_id"]);
        Assert.Equal("mama", (string?)body["metadata"]!["managed_by"]);
        Assert.Equal(25.0, body["max_budget"]!.GetValue<double>());
        Assert.Equal(100000, body["tpm_limit"]!.GetValue<int>());
        Assert.Equal("default_user_id", (string?)body["created_by"]);
        var created = DateTimeOffset.Parse((string)body["created_at"]!, CultureInfo.InvariantCulture);
        var expires = DateTimeOffset.Parse((string)body["expires"]!, CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromDays(30), expires - created);
    }

    [Fact]
    public async Task AKeyWithoutDurationNeverExpires()
    {
        var body = await fixture.Admin.GenerateAsync();

        Assert.True(body.ContainsKey("expires"));
        Assert.Null(body["expires"]);
    }

    [Fact]
    public async Task UnknownFieldsAndUnknownModelNamesAreAccepted()
    {
        var body = await fixture.Admin.GenerateAsync(new JsonObject
        {
            ["models"] = new JsonArray("no-such-model"),
            ["some_future_field"] = 42,
        });

        Assert.Equal("no-such-model", (string?)body["models"]![0]);
    }

    [Fact]
    public async Task ANegativeMaxBudgetIsRejectedBeforeTheAliasCheck()
    {
        var alias = EmulatorFixture.Unique("neg");
        await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias });

        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias, ["max_budget"] = -1 });

        reply.AssertError(HttpStatusCode.BadRequest, "{'error': 'max_budget cannot be negative. Received: -1.0'}", "internal_server_error", "None");
    }

    [Fact]
    public async Task ADuplicateAliasIsRejectedWithParamKeyAlias()
    {
        var alias = EmulatorFixture.Unique("dup");
        await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias });

        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias });

        reply.AssertError(
            HttpStatusCode.BadRequest,
            $"Key with alias '{alias}' already exists. Unique key aliases across all keys are required.",
            "bad_request_error",
            "key_alias");
    }

    [Fact]
    public async Task TheAliasCheckComesBeforeTheCustomKeyPrefixCheck()
    {
        var alias = EmulatorFixture.Unique("order");
        await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias });

        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key_alias"] = alias, ["key"] = "no-prefix-key" });

        Assert.Equal("key_alias", (string?)reply.Obj["error"]!["param"]);
    }

    [Fact]
    public async Task ACustomKeyWithoutSkPrefixIsRejectedWithTheKeyMasked()
    {
        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key"] = "mama-key-without-prefix" });

        reply.AssertError(
            HttpStatusCode.BadRequest,
            "{'error': \"Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: mama****efix\"}",
            "internal_server_error",
            "None");
    }

    [Fact]
    public async Task ACustomSkKeyIsStoredUnderItsHashAndAuthenticates()
    {
        var key = "sk-custom-" + Guid.NewGuid().ToString("N");

        var body = await fixture.Admin.GenerateAsync(new JsonObject { ["key"] = key });

        Assert.Equal(key, (string?)body["key"]);
        Assert.Equal(Sha.Hash(key), (string?)body["token"]);
        using var proxy = fixture.As(key);
        Assert.Equal(HttpStatusCode.OK, (await proxy.GetAsync("/v1/models")).Status);
    }

    [Fact]
    public async Task ADuplicateCustomKeyAnswers200ButLeavesTheStoredKeyUnchangedByDefault()
    {
        var key = "sk-dup-" + Guid.NewGuid().ToString("N");
        var first = EmulatorFixture.Unique("first");
        var second = EmulatorFixture.Unique("second");
        await fixture.Admin.GenerateAsync(new JsonObject { ["key"] = key, ["key_alias"] = first });

        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["key"] = key, ["key_alias"] = second });

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(second, (string?)reply.Obj["key_alias"]);
        var info = await fixture.Admin.GetAsync($"/key/info?key={key}");
        Assert.Equal(first, (string?)info.Obj["info"]!["key_alias"]);
    }

    [Fact]
    public async Task ADuplicateCustomKeyIsRejectedWhenTheEmulatorRunsInRejectMode()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.DuplicateKeyMode = DuplicateKeyMode.Reject);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        await admin.GenerateAsync(new JsonObject { ["key"] = "sk-duplicate-0001" });

        var reply = await admin.PostAsync("/key/generate", new JsonObject { ["key"] = "sk-duplicate-0001" });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("Key already exists", (string?)reply.Obj["error"]!["message"]);
    }

    [Fact]
    public async Task AnInvalidDurationIsABadRequest()
    {
        var reply = await fixture.Admin.PostAsync("/key/generate", new JsonObject { ["duration"] = "30" });

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Contains("Invalid duration", (string?)reply.Obj["error"]!["message"]);
    }

    [Fact]
    public async Task AnUndecodableJsonBodyIsAFastApi422()
    {
        var reply = await fixture.Admin.PostRawAsync("/key/generate", "{not json", "application/json");

        var item = reply.AssertValidationError();
        Assert.Equal("json_invalid", (string?)item["type"]);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task ABodyWithoutAJsonContentTypeIsAFastApi422(string? contentType)
    {
        var reply = await fixture.Admin.PostRawAsync("/key/generate", "{}", contentType);

        var item = reply.AssertValidationError();
        Assert.Equal("model_attributes_type", (string?)item["type"]);
    }

    [Fact]
    public async Task WrongFieldTypesAreAFastApi422NamingTheField()
    {
        var reply = await fixture.Admin.PostRawAsync("/key/generate", """{"tpm_limit": "lots", "metadata": []}""", "application/json");

        reply.AssertValidationError();
        var locs = reply.Obj["detail"]!.AsArray().Select(d => d!["loc"]!.ToJsonString()).ToList();
        Assert.Contains("""["body","tpm_limit"]""", locs);
        Assert.Contains("""["body","metadata"]""", locs);
    }

    [Fact]
    public async Task AJsonBodyThatIsNotAnObjectIsAFastApi422()
    {
        var reply = await fixture.Admin.PostRawAsync("/key/generate", "[1, 2]", "application/json");

        reply.AssertValidationError();
    }

    [Fact]
    public async Task ParallelGeneratesAllSucceedWithDistinctKeys()
    {
        var userId = EmulatorFixture.Unique("par");

        var bodies = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => fixture.Admin.GenerateAsync(new JsonObject { ["user_id"] = userId })));

        Assert.Equal(40, bodies.Select(b => (string)b["token"]!).Distinct().Count());
        var list = await fixture.Admin.GetAsync($"/key/list?user_id={userId}&size=100");
        Assert.Equal(40, list.Obj["total_count"]!.GetValue<int>());
    }
}
