namespace Mama.LiteLlmEmulator.Tests;

public sealed class AuthenticationTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private async Task<Reply> ListWithHeaderAsync(string name, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/key/list");
        request.Headers.TryAddWithoutValidation(name, value);
        return await fixture.Anonymous.SendAsync(request);
    }

    [Fact]
    public async Task ARequestWithoutAnyKeyIsRejectedWithNoApiKeyPassedIn()
    {
        var reply = await fixture.Anonymous.GetAsync("/key/list");

        reply.AssertError(HttpStatusCode.Unauthorized, "Authentication Error, No api key passed in.", "auth_error", "None");
    }

    [Fact]
    public async Task AnAuthorizationHeaderWithoutBearerPrefixIsMalformed()
    {
        var reply = await ListWithHeaderAsync("Authorization", EmulatorFixture.MasterKey);

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.",
            "auth_error",
            "None");
    }

    [Theory]
    [InlineData("Authorization", "Bearer " + EmulatorFixture.MasterKey)]
    [InlineData("Authorization", "bearer " + EmulatorFixture.MasterKey)]
    [InlineData("Authorization", "Basic " + EmulatorFixture.MasterKey)]
    [InlineData("x-litellm-api-key", EmulatorFixture.MasterKey)]
    [InlineData("x-litellm-api-key", "Bearer " + EmulatorFixture.MasterKey)]
    [InlineData("API-Key", EmulatorFixture.MasterKey)]
    [InlineData("x-api-key", EmulatorFixture.MasterKey)]
    public async Task TheMasterKeyIsAcceptedInEveryDocumentedHeader(string header, string value)
    {
        var reply = await ListWithHeaderAsync(header, value);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task TheLiteLlmHeaderWinsOverAWrongAuthorizationHeader()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/key/list");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer sk-not-the-master-key");
        request.Headers.TryAddWithoutValidation("x-litellm-api-key", "Bearer " + EmulatorFixture.MasterKey);

        var reply = await fixture.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task AWrongKeyWithoutSkPrefixIsReportedMaskedAsVirtualKeyExpected()
    {
        using var proxy = fixture.As("wrong-key-1234");

        var reply = await proxy.GetAsync("/key/list");

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            "LiteLLM Virtual Key expected. Received=wron****1234, expected to start with 'sk-'.",
            "auth_error",
            "None");
    }

    [Fact]
    public async Task AnUnknownSkKeyIsTokenNotFoundInDbWithItsHash()
    {
        using var proxy = fixture.As("sk-unknownKey00abcd");

        var reply = await proxy.GetAsync("/key/list");

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            $"Authentication Error, Invalid proxy server token passed. Received API Key = sk-...abcd, Key Hash (Token) ={Sha.Hash("sk-unknownKey00abcd")}. Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
            "token_not_found_in_db",
            "key");
    }

    [Fact]
    public async Task AVirtualKeyMayNotCallManagementRoutes()
    {
        var key = (string)(await fixture.Admin.GenerateAsync())["key"]!;
        using var proxy = fixture.As(key);

        var reply = await proxy.PostAsync("/key/generate", new JsonObject());

        Assert.Contains(reply.Status, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        Assert.NotNull(reply.Obj["error"]);
    }

    [Fact]
    public async Task ABlockedVirtualKeyIsRejectedWithTheUnblockHint()
    {
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["blocked"] = true }))["key"]!;
        using var proxy = fixture.As(key);

        var reply = await proxy.GetAsync("/v1/models");

        reply.AssertError(
            HttpStatusCode.Unauthorized,
            "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.",
            "auth_error",
            "None");
    }

    [Fact]
    public async Task AnExpiredVirtualKeyIsRejectedAsExpiredKey()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-05-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var emulator = await EmulatorFixture.StartAsync(o => o.TimeProvider = clock);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);
        var key = (string)(await admin.GenerateAsync(new JsonObject { ["duration"] = "1h" }))["key"]!;
        clock.Advance(TimeSpan.FromHours(2));
        using var proxy = new Proxy(emulator.BaseUrl, key);

        var reply = await proxy.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.Unauthorized, reply.Status);
        Assert.Equal("expired_key", (string?)reply.Obj["error"]!["type"]);
        Assert.Equal(
            "Authentication Error - Expired Key. Key Expiry time 2026-05-01 01:00:00+00:00 and current time 2026-05-01 02:00:00+00:00",
            (string?)reply.Obj["error"]!["message"]);
    }
}
