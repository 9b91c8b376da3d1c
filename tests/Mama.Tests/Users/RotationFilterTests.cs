using System.Net;
using System.Text;
using Mama.Components.Shared;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary><c>rotation=in_progress</c> on the list and the export: users whose new key is not live yet or whose replaced key still works.</summary>
public abstract class RotationFilterTests(MamaApp app)
{
    [Fact]
    public async Task TheRotationFilterKeepsUsersBeingRotatedAndUsersInTheirGraceWindowInTheListAndTheExport()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = "rf" + Guid.NewGuid().ToString("N")[..10];
        var ids = await admin.CreateUsersAsync(3, organization: tag);
        var (rotating, inGrace, untouched) = (ids[0], ids[1], ids[2]);
        var started = await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { rotating } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == inGrace).ExecuteUpdateAsync(s => s.SetProperty(u => u.PreviousKeyExpiresAt, DateTimeOffset.UtcNow.AddHours(1)));

        var all = await (await admin.GetAsync($"/api/v1/users?organization={tag}")).ReadAsync<UserPage>();
        var filtered = await (await admin.GetAsync($"/api/v1/users?organization={tag}&rotation=in_progress")).ReadAsync<UserPage>();
        using var export = await admin.GetAsync($"/api/v1/users/export?organization={tag}&rotation=in_progress");

        Assert.Equal(3, all.Total);
        Assert.Equal(new[] { inGrace, rotating }.Order(StringComparer.Ordinal), filtered.Items.Select(u => u.UserId).Order(StringComparer.Ordinal));
        Assert.Equal(2, filtered.Total);
        Assert.DoesNotContain(untouched, filtered.Items.Select(u => u.UserId));
        Assert.NotNull(filtered.Items.Single(u => u.UserId == inGrace).PreviousKeyExpiresAt);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        var lines = Encoding.UTF8.GetString(await export.Content.ReadAsByteArrayAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(new[] { inGrace, rotating }.Order(StringComparer.Ordinal), lines.Skip(1).Select(l => Csv.SplitLine(l)[0]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ARotationOfAllMatchingTakesTheRotationFilterToo()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = "rf" + Guid.NewGuid().ToString("N")[..10];
        var ids = await admin.CreateUsersAsync(3, organization: tag);
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == ids[0]).ExecuteUpdateAsync(s => s.SetProperty(u => u.PreviousKeyExpiresAt, DateTimeOffset.UtcNow.AddHours(1)));

        var counted = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization = tag, rotation = "in_progress" }, dry_run = true }))
            .ReadAsync<Mama.Rotation.RotateResponse>();
        var refused = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization = tag, rotation = "soon" } })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal(1, counted.Total);
        Assert.Equal("Must be in_progress.", refused.GetProperty("errors").GetProperty("filter.rotation")[0].GetString());
        await using var after = app.NewDbContext();
        Assert.False(await after.KeyUsers.AnyAsync(u => ids.Contains(u.UserId) && u.RotationId != null));
    }

    [Theory]
    [InlineData("organization")]
    [InlineData("search")]
    [InlineData("model")]
    [InlineData("service")]
    public async Task ABlankFilterValueInARotationIsA400NotEveryone(string field)
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(1, organization: "rf" + Guid.NewGuid().ToString("N")[..10]);
        var filter = new Dictionary<string, string> { [field] = "  " };

        var refused = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter, grace = "0" })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Contains("blank", refused.GetProperty("errors").GetProperty("filter." + field)[0].GetString());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.RotationId != null && ids.Contains(u.UserId)));
    }

    [Theory]
    [InlineData("/api/v1/users?rotation=done")]
    [InlineData("/api/v1/users?rotation=IN_PROGRESS")]
    [InlineData("/api/v1/users/export?rotation=yes")]
    public async Task AnyOtherRotationValueIsA400NamingTheParameter(string url)
    {
        using var admin = await app.SuperAdminAsync();

        var problem = await (await admin.GetAsync(url)).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.Equal("Must be in_progress.", problem.GetProperty("errors").GetProperty("rotation")[0].GetString());
    }
}

public sealed class RotationFilterTestsOnSqlite(SqliteApp app) : RotationFilterTests(app), IClassFixture<SqliteApp>;
public sealed class RotationFilterTestsOnPostgres(PostgresApp app) : RotationFilterTests(app), IClassFixture<PostgresApp>;
