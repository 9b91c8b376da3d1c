using System.Net;
using Mama.Data;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Data;

/// <summary>The signal the SQLite lookup cache relies on: a write to users advances the version once it is committed.</summary>
public sealed class UserTableChangesTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private UserTableChanges Changes => app.Host.Services.GetRequiredService<UserTableChanges>();

    [Fact]
    public async Task TheLookupsCachedRowsAndTheirDecryptedKeysAreDroppedByTheNextCommittedWrite()
    {
        using var admin = await app.SuperAdminAsync();
        var ids = await admin.CreateUsersAsync(3);
        var (client, _) = await app.NewLookupClientAsync(admin);
        var lookups = app.Host.Services.GetRequiredService<Mama.ApiClients.KeyLookup>();
        // Looked up again if a background write to users (the sync's records) cleared the cache in between.
        await MamaApp.EventuallyAsync(async () =>
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = ids })).StatusCode);
            return lookups.CachedRows >= 3;
        }, "the lookup's rows are cached");

        // Deleting a user leaves no row to read again in its place: its key must not stay in memory until the cache fills.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/users/{ids[0]}")).StatusCode);

        Assert.Equal(0, lookups.CachedRows);
    }

    [Fact]
    public async Task AWriteInsideATransactionAdvancesTheVersionAtTheCommitNotBefore()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using var db = app.NewDbContext();
        await using var tx = await db.Database.BeginTransactionAsync();
        var before = Changes.Version;

        await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Organization, "globex"));
        var written = Changes.Version;
        await tx.CommitAsync();

        Assert.Equal(before, written); // a reader before the commit sees the old row, and may cache it under this version
        Assert.True(Changes.Version > written);
    }

    [Fact]
    public async Task ARolledBackWriteAndAWriteThatMatchesNoRowLeaveTheVersionAlone()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        await using var db = app.NewDbContext();
        var before = Changes.Version;

        await db.KeyUsers.Where(u => u.UserId == "nobody-" + id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Organization, "globex"));
        await using (var tx = await db.Database.BeginTransactionAsync())
        {
            await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.Organization, "globex"));
            await tx.RollbackAsync();
        }

        Assert.Equal(before, Changes.Version);
    }

    [Fact]
    public async Task WritesToOtherTablesLeaveTheVersionAlone()
    {
        using var admin = await app.SuperAdminAsync();
        var before = Changes.Version;

        await (await admin.PostJsonAsync("/api/v1/api-clients", new { name = "c-" + Guid.NewGuid().ToString("N")[..8], service = "billing" })).ReadAsync<object>(System.Net.HttpStatusCode.Created);

        Assert.Equal(before, Changes.Version);
    }
}
