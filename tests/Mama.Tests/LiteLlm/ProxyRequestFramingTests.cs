using System.Net;
using Mama.Tests.Infrastructure;
using Mama.Users;

namespace Mama.Tests.LiteLlm;

/// <summary>LiteLLM often sits behind a gateway or WAF that refuses chunked request bodies, so every body goes with a Content-Length.</summary>
public sealed class ProxyRequestFramingTests(SqliteApp app) : IClassFixture<SqliteApp>, IAsyncLifetime
{
    public ValueTask InitializeAsync()
    {
        app.LiteLlm.RequireContentLength = true;
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        app.LiteLlm.RequireContentLength = false;
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task CreateEditAndDeleteSyncBehindAGatewayThatRefusesChunkedBodies()
    {
        using var admin = await app.SuperAdminAsync();
        var id = UserTestData.NewId();
        var sizedBefore = app.LiteLlm.SizedBodies;

        var created = await admin.CreateUsersAsync([UserTestData.Row(id)]);
        var edited = await admin.EditAsync([id], models: new { mode = "add", values = new[] { "gpt-4o-mini" } });
        var deleted = await (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = new[] { id } })).ReadAsync<DeleteUsersResponse>();

        Assert.Equal("synced", Assert.Single(created.Sync).State);
        Assert.Equal("synced", Assert.Single(edited.Sync).State);
        Assert.Equal("deleted", Assert.Single(deleted.Sync).State);
        Assert.Equal(0, app.LiteLlm.ChunkedBodies);
        // generate, update and delete each carried a body
        Assert.True(app.LiteLlm.SizedBodies - sizedBefore >= 3, $"{app.LiteLlm.SizedBodies - sizedBefore} sized bodies");
        Assert.Null(app.LiteLlm.FindKeyByAlias(id));
    }
}
