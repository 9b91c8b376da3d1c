namespace Mama.LiteLlmEmulator.Tests;

public sealed class ModelInfoTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Theory]
    [InlineData("/model/info")]
    [InlineData("/v1/model/info")]
    public async Task ModelInfoHasOneEntryPerDeployment(string path)
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = ["gpt-4o", "gpt-4o", "claude-sonnet-4"]);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var data = reply.Obj["data"]!.AsArray();
        Assert.Equal(["gpt-4o", "gpt-4o", "claude-sonnet-4"], data.Select(d => (string)d!["model_name"]!));
        Assert.All(data, d =>
        {
            Assert.NotNull(d!["litellm_params"]!["model"]);
            Assert.NotNull(d["model_info"]!["id"]);
            Assert.Null(d["litellm_params"]!["api_key"]);
        });
        Assert.Equal(3, data.Select(d => (string)d!["model_info"]!["id"]!).Distinct().Count());
    }

    [Fact]
    public async Task ASingleDeploymentIsFetchedByIdAsAnObject()
    {
        var all = (await fixture.Admin.GetAsync("/model/info")).Obj["data"]!.AsArray();
        var id = (string)all[1]!["model_info"]!["id"]!;

        var reply = await fixture.Admin.GetAsync($"/model/info?litellm_model_id={id}");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal((string?)all[1]!["model_name"], (string?)reply.Obj["data"]!["model_name"]);
    }

    [Fact]
    public async Task AnUnknownDeploymentIdIs404WithAFastApiDetail()
    {
        var reply = await fixture.Admin.GetAsync("/model/info?litellm_model_id=deadbeef");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("Model id = deadbeef not found on litellm proxy", (string?)reply.Obj["detail"]!["error"]);
    }

    [Fact]
    public async Task AProxyWithoutModelsAnswers500WithAFastApiDetailNotTheEnvelope()
    {
        await using var emulator = await EmulatorFixture.StartAsync(o => o.Models = []);
        using var admin = new Proxy(emulator.BaseUrl, EmulatorFixture.MasterKey);

        var reply = await admin.GetAsync("/model/info");

        Assert.Equal(HttpStatusCode.InternalServerError, reply.Status);
        Assert.False(reply.Obj.ContainsKey("error"));
        Assert.StartsWith("LLM Model List not loaded in.", (string?)reply.Obj["detail"]!["error"]);
    }
}
