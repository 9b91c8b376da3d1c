using System.Net.Http.Json;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Mama.Tests.Users;

/// <summary>An installation upgrading to SQLite's trigram index: the migration indexes the users it already has.</summary>
public sealed class UserSearchUpgradeTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    [Fact]
    public async Task UsersWrittenBeforeTheIndexMigrationAreFoundThroughItAfterward()
    {
        using (var admin = await app.SuperAdminAsync())
        {
            await admin.CreateUsersAsync(100, organization: "many");
            await admin.CreateUsersAsync(2, organization: "made-before");
        }
        // Back to the schema before the index, as an installation upgrading to it; mama then creates and edits users there.
        await using (var db = app.NewDbContext())
            await db.GetService<IMigrator>().MigrateAsync("AuditChain", TestContext.Current.CancellationToken);
        List<string> during;
        using (var admin = await app.SuperAdminAsync())
        {
            during = await admin.CreateUsersAsync(2, organization: "made-during");
            (await admin.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/users") { Content = JsonContent.Create(new { user_ids = new[] { during[0] }, organization = "renamed-during" }) }))
                .EnsureSuccessStatusCode();
        }

        await app.RestartAsync();
        using var upgraded = await app.SuperAdminAsync();

        Assert.Equal(2, (await UserSearchTests.SearchAsync(upgraded, "made-before")).Count);
        Assert.Equal([during[1]], await UserSearchTests.SearchAsync(upgraded, "made-during"));
        Assert.Equal([during[0]], await UserSearchTests.SearchAsync(upgraded, "renamed-during"));
        await using var check = app.NewDbContext();
        Assert.Equal(0, await check.Database.SqlQuery<int>(
            $"""SELECT count(*) AS "Value" FROM "users" AS u WHERE NOT EXISTS (SELECT 1 FROM "users_search" AS s WHERE s.rowid = u."Id" AND s."UserId" = u."UserId" AND s."Organization" = u."Organization")""")
            .SingleAsync(TestContext.Current.CancellationToken));
    }
}
