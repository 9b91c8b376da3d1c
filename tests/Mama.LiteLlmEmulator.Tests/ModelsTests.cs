namespace Mama.LiteLlmEmulator.Tests;

public sealed class ModelsTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Theory]
    [InlineData("/v1/models")]
    [InlineData("/models")]
    public async Task TheMasterKeySeesEveryModelWithTheConstantCreatedAndOwnedBy(string path)
    {
        var reply = await fixture.Admin.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("list", (string?)reply.Obj["object"]);
        var data = reply.Obj["data"]!.AsArray();
        Assert.Equal(EmulatorOptions.DefaultModels, data.Select(m => (string)m!["id"]!));
        foreach (var model in data)
        {
            Assert.Equal("model", (string?)model!["object"]);
            Assert.Equal(1677610602, model["created"]!.GetValue<long>());
            Assert.Equal("openai", (string?)model["owned_by"]);
        }
    }

    [Fact]
    public async Task DeploymentsSharingAModelNameAreListedOnce()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = ["gpt-4o", "gpt-4o", "o3"]);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.GetAsync("/v1/models");

        Assert.Equal(["gpt-4o", "o3"], reply.Obj["data"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Fact]
    public async Task AProxyWithoutModelsAnswersAnEmptyList()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = []);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.GetAsync("/v1/models");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("""{"data":[],"object":"list"}""", reply.Json.ToJsonString());
    }

    [Fact]
    public async Task AVirtualKeyWithAModelListSeesOnlyThoseModels()
    {
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["models"] = new JsonArray("gpt-4o-mini") }))["key"]!;
        using var proxy = fixture.As(key);

        var reply = await proxy.GetAsync("/v1/models");

        Assert.Equal(["gpt-4o-mini"], reply.Obj["data"]!.AsArray().Select(m => (string)m!["id"]!));
    }

    [Fact]
    public async Task AVirtualKeyWithAnEmptyModelListSeesEveryModel()
    {
        var key = (string)(await fixture.Admin.GenerateAsync())["key"]!;
        using var proxy = fixture.As(key);

        var reply = await proxy.GetAsync("/v1/models");

        Assert.Equal(EmulatorOptions.DefaultModels.Count, reply.Obj["data"]!.AsArray().Count);
    }

    [Fact]
    public async Task ListingModelsNeedsAKey()
    {
        var reply = await fixture.Anonymous.GetAsync("/v1/models");

        reply.AssertError(HttpStatusCode.Unauthorized, "Authentication Error, No api key passed in.", "auth_error", "None");
    }
}
