using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>
/// What guards a rotation: a replaced key is revoked whatever else fails, a second rotation revokes the first one's
/// replaced key before its swap, filter rotations skip users they cannot rotate, the confirmed count, and grace values.
/// </summary>
public abstract class RotationGuardTests(MamaApp app)
{
    private static string NewOrganization() => "org-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(HttpClient Admin, HttpClient Lookups, List<string> Ids)> UsersAsync(int count, string? organization = null)
    {
        var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var ids = await admin.CreateUsersAsync(count, organization: organization ?? NewOrganization());
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.KeyLiveAt != null) == count;
        }, "the users' keys are live");
        return (admin, lookups, ids);
    }

    private async Task<User> RowAsync(string id)
    {
        await using var db = app.NewDbContext();
        return await db.KeyUsers.AsNoTracking().SingleAsync(u => u.UserId == id);
    }

    /// <summary>Deletes a key on the proxy with the master key, as LiteLLM's UI or a script would.</summary>
    private async Task DeleteOnProxyAsync(string key)
    {
        using var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl };
        proxy.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MamaApp.MasterKey);
        Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("/key/delete", new { keys = new[] { key } })).StatusCode);
    }

    [Theory]
    [InlineData("conflict")]
    [InlineData("refused")]
    public async Task AReplacedKeyIsRevokedAtTheEndOfItsWindowEvenWhenTheCurrentKeyCannotBePushed(string failure)
    {
        var (admin, lookups, ids) = await UsersAsync(1);
        var id = ids[0];
        var old = (await lookups.LookupAsync(id)).Key;
        var started = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
        await admin.UntilAsync(started.RotationId!, p => p.Done == 1, "the new key is live");
        var current = await lookups.LookupAsync(id);
        Assert.Equal(old, current.PreviousKey);

        var planted = PlantedKeys.NewKey();
        var expected = SyncState.Conflict;
        if (failure == "conflict")
        {
            // Someone removed mama's key and put another under the user's alias: the next push of the current key meets it.
            await DeleteOnProxyAsync(current.Key);
            await app.PlantAsync(id, planted);
        }
        else
        {
            app.LiteLlm.SetRefusal("/key/update", 422, "Rejected by a policy hook");
            expected = SyncState.Error;
        }
        try
        {
            await admin.EditAsync(ids, models: new { mode = "replace", values = new[] { "gpt-4o-mini" } });
            await MamaApp.EventuallyAsync(async () => (await RowAsync(id)).SyncState == expected, "the current key's push fails");
            Assert.NotNull(app.LiteLlm.FindKey(old));

            await using (var db = app.NewDbContext()) await db.EndGraceAsync(ids);
            app.Service<KeyReconciler>().Wake();
            await MamaApp.EventuallyAsync(async () => (await RowAsync(id)).PreviousKeyHash is null, "the replaced key's revocation is recorded");

            Assert.Null(app.LiteLlm.FindKey(old));
            var user = await RowAsync(id);
            Assert.Equal((expected, (DateTimeOffset?)null, (string?)null), (user.SyncState, user.PreviousKeyExpiresAt, user.PreviousKeyLastFour));
            var looked = await lookups.LookupAsync(id);
            Assert.Equal((current.Key, (string?)null, (DateTimeOffset?)null), (looked.Key, looked.PreviousKey, looked.PreviousKeyExpiresAt));
            Assert.Equal(1, (await admin.ProgressAsync(started.RotationId!)).Revoked);
            if (failure == "conflict") Assert.Equal(planted, app.LiteLlm.FindKeyByAlias(id)!.Key); // left for an admin
            else Assert.NotNull(app.LiteLlm.FindKey(current.Key));
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/update", null);
        }
    }

    [Fact]
    public async Task RotatingAgainDuringTheGraceWindowRevokesTheEarlierReplacedKeyBeforeTheSwapAndHandsOutOnlyTheLatestReplacedKey()
    {
        var (admin, lookups, ids) = await UsersAsync(1);
        var id = ids[0];
        var first = (await lookups.LookupAsync(id)).Key;
        var earlier = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
        await admin.UntilAsync(earlier.RotationId!, p => p.Done == 1, "the first rotation's key is live");
        var second = await lookups.LookupAsync(id);
        Assert.Equal(first, second.PreviousKey);

        // The new key cannot be made: the rotation stops before its swap, which shows what happened before it.
        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit exceeded");
        RotateResponse again;
        try
        {
            again = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
            await MamaApp.EventuallyAsync(async () =>
            {
                var row = await RowAsync(id);
                return row.PreviousKeyHash is null && row.SyncAttempts > 0;
            }, "the earlier replaced key is revoked and the new key was tried");

            Assert.Null(app.LiteLlm.FindKey(first));
            var waiting = await lookups.LookupAsync(id);
            Assert.Equal((second.Key, (string?)null), (waiting.Key, waiting.PreviousKey));
            Assert.NotNull(app.LiteLlm.FindKey(second.Key));
            Assert.Equal((1, 0), ((await admin.ProgressAsync(again.RotationId!)).Pending, (await admin.ProgressAsync(again.RotationId!)).Done));
            var closed = await admin.ProgressAsync(earlier.RotationId!);
            Assert.Equal((1, true), (closed.Revoked, closed.Finished));
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }

        await admin.UntilAsync(again.RotationId!, p => p.Done == 1, "the second rotation's key is live");
        var third = await lookups.LookupAsync(id);
        Assert.NotEqual(second.Key, third.Key);
        Assert.NotEqual(first, third.Key);
        Assert.Equal(second.Key, third.PreviousKey);
        Assert.Equal(new[] { second.Key, third.Key }.Order(), app.LiteLlm.KeysOf(id).Select(k => k.Key).Order());
        Assert.Null(app.LiteLlm.FindKey(first));
        Assert.Equal(id, app.LiteLlm.FindKey(third.Key)!.KeyAlias);
        Assert.Null(app.LiteLlm.FindKey(second.Key)!.KeyAlias);
    }

    [Fact]
    public async Task AFilterRotationSkipsUsersRotatingOrInConflictAndSaysWhileTheSameUsersByIdAreAConflict()
    {
        var organization = NewOrganization();
        var (admin, _, ids) = await UsersAsync(3, organization);
        var (rotating, others) = (ids[0], ids.Skip(1).ToList());
        var conflicted = UserTestData.NewId();
        await app.PlantAsync(conflicted, PlantedKeys.NewKey());
        Assert.Equal(SyncOutcome.Conflict, (await admin.CreateUsersAsync([UserTestData.Row(conflicted, organization)])).Sync.Single().State);
        var skipped = new[] { (rotating, "already_rotating"), (conflicted, "conflict") };

        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit exceeded");
        RotateResponse running, started;
        try
        {
            running = await admin.RotateAsync(new { user_ids = new[] { rotating }, grace = "1h" });

            var dry = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization }, dry_run = true })).ReadAsync<RotateResponse>();
            Assert.Equal((2, true), (dry.Total, dry.DryRun));
            Assert.Equal(skipped.Order(), dry.Skipped!.Select(s => (s.UserId, s.Reason)).Order());

            var busy = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { rotating, others[0] }, grace = "1h" }))
                .AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Equal(running.RotationId, busy.GetProperty("rotation_id").GetString());
            var blocked = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { others[0], conflicted }, grace = "1h" }))
                .AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Equal([conflicted], blocked.GetProperty("conflict").EnumerateArray().Select(e => e.GetString()));
            Assert.Null((await RowAsync(others[0])).RotationId);

            // The confirmed number is the number it rotates: the skipped users are not counted.
            started = await admin.RotateAsync(new { filter = new { organization }, grace = "1h", expected_total = 2 });
            Assert.Equal(2, started.Total);
            Assert.Equal(skipped.Order(), started.Skipped!.Select(s => (s.UserId, s.Reason)).Order());
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }

        await admin.UntilAsync(started.RotationId!, p => p.Done == 2, "the others are rotated");
        await admin.UntilAsync(running.RotationId!, p => p.Done == 1, "the rotation running before finishes as it was");
        await using var db = app.NewDbContext();
        Assert.Equal(others.Order(), await db.KeyRotationItems.Where(i => i.RotationId == started.RotationId).Select(i => i.UserId).OrderBy(u => u).ToListAsync());
        Assert.Equal(1, await db.KeyRotationItems.CountAsync(i => i.UserId == rotating));
        var untouched = await RowAsync(conflicted);
        Assert.Equal((SyncState.Conflict, (string?)null, (string?)null, (string?)null), (untouched.SyncState, untouched.NextKeyHash, untouched.PreviousKeyHash, untouched.RotationId));
        Assert.False(await db.KeyRotationItems.AnyAsync(i => i.UserId == conflicted));
    }

    [Fact]
    public async Task AnExpectedTotalOtherThanTheSelectionIsAConflictThatChangesNothingAndTheSameNumberRotates()
    {
        var organization = NewOrganization();
        var (admin, _, ids) = await UsersAsync(2, organization);
        await using var before = app.NewDbContext();
        var rows = await before.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).OrderBy(u => u.UserId).ToListAsync();
        static object Shape(User u) => (u.KeyHash, u.Version, u.NextKeyHash, u.RotationId, u.SyncState, u.ExpiresAt);

        foreach (var body in new object[]
        {
            new { filter = new { organization }, grace = "1h", expected_total = 3 },
            new { filter = new { organization }, grace = "1h", expected_total = 1, dry_run = true },
            new { user_ids = ids, grace = "1h", expected_total = 1 },
        })
        {
            var problem = await (await admin.PostJsonAsync("/api/v1/users/rotate", body)).AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Equal(2, problem.GetProperty("total").GetInt32());
            Assert.Contains("nothing was rotated", problem.GetProperty("detail").GetString());
        }
        await using (var after = app.NewDbContext())
        {
            var now = await after.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).OrderBy(u => u.UserId).ToListAsync();
            Assert.Equal(rows.Select(Shape), now.Select(Shape));
            Assert.False(await after.KeyRotationItems.AnyAsync(i => ids.Contains(i.UserId)));
        }

        var dry = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization }, expected_total = 2, dry_run = true })).ReadAsync<RotateResponse>();
        Assert.Equal((2, true, null), (dry.Total, dry.DryRun, dry.RotationId));
        Assert.True(dry.Skipped is null or { Count: 0 });
        var started = await admin.RotateAsync(new { filter = new { organization }, grace = "1h", expected_total = 2 });
        Assert.Equal(2, started.Total);
        await admin.UntilAsync(started.RotationId!, p => p.Done == 2, "both keys are rotated");
    }

    [Theory]
    [InlineData("P99999999D")]
    [InlineData("abc")]
    [InlineData("-1h")]
    public async Task AGraceThatIsNoDurationIsA400NamingGraceThatRotatesNothing(string grace)
    {
        var (admin, _, ids) = await UsersAsync(1);

        var problem = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = ids, grace })).AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.True(problem.GetProperty("errors").TryGetProperty("grace", out _), problem.GetRawText());
        Assert.Contains("grace", problem.GetProperty("detail").GetString());
        Assert.Null((await RowAsync(ids[0])).NextKeyHash);
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyRotationItems.AnyAsync(i => i.UserId == ids[0]));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("PT1H", 3600)]
    [InlineData("90m", 5400)]
    [InlineData("01:00:00", 3600)]
    public async Task AGraceWrittenAsZeroIsoMinutesOrClockTimeIsAccepted(string grace, int seconds)
    {
        var (admin, _, ids) = await UsersAsync(1);

        var dry = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = ids, grace, dry_run = true })).ReadAsync<RotateResponse>();

        Assert.Equal((1, true, TimeSpan.FromSeconds(seconds)), (dry.Total, dry.DryRun, dry.Grace));
    }
}

public sealed class RotationGuardTestsOnSqlite(SqliteApp app) : RotationGuardTests(app), IClassFixture<SqliteApp>;
public sealed class RotationGuardTestsOnPostgres(PostgresApp app) : RotationGuardTests(app), IClassFixture<PostgresApp>;
