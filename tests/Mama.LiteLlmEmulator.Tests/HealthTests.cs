namespace Mama.LiteLlmEmulator.Tests;

public sealed class HealthTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    [Theory]
    [InlineData("/health/liveliness")]
    [InlineData("/health/liveness")]
    public async Task LivelinessIsPublicAndAnswersTheJsonStringImAlive(string path)
    {
        var reply = await fixture.Anonymous.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal("I'm alive!", reply.Json.GetValue<string>());
    }

    [Fact]
    public async Task ReadinessIsPublicAndReportsHealthyWithTheDatabaseState()
    {
        var reply = await fixture.Anonymous.GetAsync("/health/readiness");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("healthy", (string?)reply.Obj["status"]);
        Assert.Equal("connected", (string?)reply.Obj["db"]);
        Assert.NotNull(reply.Obj["litellm_version"]);
    }

    [Fact]
    public async Task TheRootRouteIsPublic()
    {
        var reply = await fixture.Anonymous.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task AnUnknownRouteAnswersFastApisNotFoundDetail()
    {
        var reply = await fixture.Admin.GetAsync("/no/such/route");

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("Not Found", (string?)reply.Obj["detail"]);
    }
}
