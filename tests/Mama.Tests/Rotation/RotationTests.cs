using System.Net;
using System.Net.Http.Json;
using Mama.LiteLlm;
using Mama.Rotation;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Rotation;

/// <summary>Rotations through the API against the emulator: the grace window, lookups, edits, conflicts, dry runs and deletes.</summary>
public abstract class RotationTests(MamaApp app)
{
    private static string NewOrganization() => "org-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(HttpClient Admin, HttpClient Lookups, List<string> Ids)> UsersAsync(int count, string? organization = null, string[]? models = null)
    {
        var admin = await app.SuperAdminAsync();
        var (lookups, _) = await app.NewLookupClientAsync(admin);
        var ids = await admin.CreateUsersAsync(count, models, organization: organization ?? NewOrganization());
        await MamaApp.EventuallyAsync(async () =>
        {
            await using var db = app.NewDbContext();
            return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncState == SyncState.Synced && u.KeyLiveAt != null) == count;
        }, "the users' keys are live");
        return (admin, lookups, ids);
    }

    [Fact]
    public async Task ABulkRotationKeepsBothKeysWorkingDuringTheGraceReturnsTheNewKeyOnlyOnceLiveAndLeavesOnlyTheNewKeyAfter()
    {
        var organization = NewOrganization();
        var (admin, lookups, ids) = await UsersAsync(3, organization, ["gpt-4o", "gpt-4o-mini"]);
        var old = new Dictionary<string, string>();
        foreach (var id in ids) old[id] = (await lookups.LookupAsync(id)).Key;

        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit exceeded");
        RotateResponse started;
        try
        {
            started = await admin.RotateAsync(new { filter = new { organization }, grace = "1h" });
            Assert.Equal(3, started.Total);
            Assert.Equal(TimeSpan.FromHours(1), started.Grace);
            await MamaApp.EventuallyAsync(async () =>
            {
                await using var db = app.NewDbContext();
                return await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId) && u.SyncAttempts > 0) == 3;
            }, "every new key was tried and refused");
            var waiting = await admin.ProgressAsync(started.RotationId!);
            Assert.Equal((3, 3, 0, 0), (waiting.Total, waiting.Pending, waiting.Done, waiting.Revoked));
            foreach (var id in ids)
            {
                // The new key is stored, not yet on the proxy: lookups still hand out the key that works.
                Assert.Equal(old[id], (await lookups.LookupAsync(id)).Key);
                Assert.Single(app.LiteLlm.KeysOf(id));
            }
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }

        await admin.UntilAsync(started.RotationId!, p => p.Done == 3, "every new key is live");
        var live = await admin.ProgressAsync(started.RotationId!);
        Assert.Equal((0, 3, 0, false), (live.Pending, live.Done, live.Revoked, live.Finished));
        foreach (var id in ids)
        {
            var looked = await lookups.LookupAsync(id);
            Assert.NotEqual(old[id], looked.Key);
            Assert.True(looked.Usable);
            var current = app.LiteLlm.FindKey(looked.Key);
            var previous = app.LiteLlm.FindKey(old[id]);
            Assert.NotNull(current);
            Assert.NotNull(previous);
            Assert.Equal(id, current.KeyAlias);
            Assert.Null(previous.KeyAlias);
            Assert.Equal(id, previous.Metadata["mama_previous_of"]!.GetValue<string>());
            foreach (var key in new[] { current, previous })
            {
                Assert.False(key.Blocked);
                Assert.Equal(["gpt-4o", "gpt-4o-mini"], key.Models.Order());
            }
        }

        await using (var db = app.NewDbContext()) await db.EndGraceAsync(ids);
        app.Service<KeyReconciler>().Wake();
        await admin.UntilAsync(started.RotationId!, p => p.Revoked == 3 && p.Finished, "every replaced key is revoked");
        foreach (var id in ids)
        {
            Assert.Null(app.LiteLlm.FindKey(LiteLlmClient.HashKey(old[id])));
            var key = Assert.Single(app.LiteLlm.KeysOf(id));
            Assert.Equal((await lookups.LookupAsync(id)).Key, key.Key);
        }
        await using (var db = app.NewDbContext())
        {
            var events = await db.RotationEventsAsync(ids);
            Assert.Single(events, e => e.Action == "key.rotate.start");
            foreach (var id in ids)
            {
                Assert.Single(events, e => e.Action == KeyRotationSteps.Live && e.UserIds == $" {id} " && e.Detail.Contains(started.RotationId!));
                Assert.Single(events, e => e.Action == KeyRotationSteps.Revoked && e.UserIds == $" {id} " && e.Detail.Contains(started.RotationId!));
            }
            Assert.All(await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).ToListAsync(), u =>
            {
                Assert.Null(u.NextKeyHash);
                Assert.Null(u.PreviousKeyHash);
                Assert.Null(u.RotationId);
            });
        }
    }

    [Fact]
    public async Task TagsSetOnTheOldKeyInLiteLlmSurviveOnItDuringTheWindow()
    {
        var (admin, lookups, ids) = await UsersAsync(1);
        var id = ids[0];
        var old = (await lookups.LookupAsync(id)).Key;
        var metadata = app.LiteLlm.FindKey(old)!.Metadata;
        metadata["tags"] = new System.Text.Json.Nodes.JsonArray("team-a");
        using (var proxy = new HttpClient { BaseAddress = app.Emulator.BaseUrl })
        {
            proxy.DefaultRequestHeaders.Authorization = new("Bearer", MamaApp.MasterKey);
            Assert.Equal(HttpStatusCode.OK, (await proxy.PostAsJsonAsync("key/update",
                new System.Text.Json.Nodes.JsonObject { ["key"] = LiteLlmClient.HashKey(old), ["metadata"] = metadata })).StatusCode);
        }

        var started = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
        await admin.UntilAsync(started.RotationId!, p => p.Done == 1, "the new key is live");

        var replaced = app.LiteLlm.FindKey(old)!;
        Assert.Null(replaced.KeyAlias);
        Assert.Equal(id, (string?)replaced.Metadata["mama_previous_of"]);
        Assert.Equal(["team-a"], replaced.Metadata["tags"]!.AsArray().Select(t => (string)t!));
    }

    [Fact]
    public async Task AGraceOfZeroRevokesTheOldKeyRightAfterTheNewOneIsLive()
    {
        var (admin, lookups, ids) = await UsersAsync(1);
        var id = ids[0];
        var old = (await lookups.LookupAsync(id)).Key;

        var started = await admin.RotateAsync(new { user_ids = ids, grace = "0" });

        await admin.UntilAsync(started.RotationId!, p => p.Revoked == 1 && p.Finished, "the old key is revoked");
        Assert.Null(app.LiteLlm.FindKey(old));
        var looked = await lookups.LookupAsync(id);
        Assert.NotEqual(old, looked.Key);
        Assert.Equal(looked.Key, Assert.Single(app.LiteLlm.KeysOf(id)).Key);
        await using var db = app.NewDbContext();
        var events = await db.RotationEventsAsync(ids);
        Assert.Contains(events, e => e.Action == KeyRotationSteps.Revoked);
    }

    [Fact]
    public async Task EditsDuringTheGraceWindowReachBothKeysIncludingBlockingWhenNoModelIsLeft()
    {
        var (admin, lookups, ids) = await UsersAsync(1, models: ["gpt-4o"]);
        var id = ids[0];
        var old = (await lookups.LookupAsync(id)).Key;
        var started = await admin.RotateAsync(new { user_ids = ids, grace = "1h" });
        await admin.UntilAsync(started.RotationId!, p => p.Done == 1, "the new key is live");
        var current = (await lookups.LookupAsync(id)).Key;

        await admin.EditAsync(ids, models: new { mode = "replace", values = new[] { "gpt-4o-mini", "claude-sonnet-4" } });
        await MamaApp.EventuallyAsync(() => Task.FromResult(new[] { old, current }.All(k =>
            app.LiteLlm.FindKey(k)!.Models.Order().SequenceEqual(["claude-sonnet-4", "gpt-4o-mini"]) && !app.LiteLlm.FindKey(k)!.Blocked)),
            "both keys have the new models");

        await admin.EditAsync(ids, models: new { mode = "replace", values = Array.Empty<string>() });
        await MamaApp.EventuallyAsync(() => Task.FromResult(new[] { old, current }.All(k => app.LiteLlm.FindKey(k)!.Blocked)), "both keys are blocked");
        Assert.Null(app.LiteLlm.FindKey(old)!.KeyAlias);
        Assert.Equal(id, app.LiteLlm.FindKey(current)!.KeyAlias);
    }

    [Fact]
    public async Task ASecondRotationWhileOneRunsIsAConflictNamingTheRunningOneAlsoWhenBothArriveAtOnce()
    {
        var (admin, _, ids) = await UsersAsync(2);
        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit exceeded");
        try
        {
            var first = await admin.RotateAsync(new { user_ids = new[] { ids[0] }, grace = "1h" });
            var second = await admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { ids[0] }, grace = "0" });
            var problem = await second.AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Equal(first.RotationId, problem.GetProperty("rotation_id").GetString());
            Assert.Contains(first.RotationId!, problem.GetProperty("detail").GetString());

            using var other = await app.SuperAdminAsync();
            var racing = await Task.WhenAll(
                admin.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { ids[1] }, grace = "1h" }),
                other.PostJsonAsync("/api/v1/users/rotate", new { user_ids = new[] { ids[1] }, grace = "1h" }));
            var won = Assert.Single(racing, r => r.StatusCode == HttpStatusCode.Accepted);
            var lost = Assert.Single(racing, r => r.StatusCode != HttpStatusCode.Accepted);
            var winner = await won.ReadAsync<RotateResponse>(HttpStatusCode.Accepted);
            var refused = await lost.AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.Equal(winner.RotationId, refused.GetProperty("rotation_id").GetString());
            await using var db = app.NewDbContext();
            Assert.Equal(1, await db.KeyRotationItems.CountAsync(i => i.UserId == ids[1]));
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }
    }

    [Fact]
    public async Task AStepTheProxyRefusesMarksTheUserFailedWithTheReasonAuditsItOnceAndTheRetryFinishesIt()
    {
        var (admin, _, ids) = await UsersAsync(1);
        app.LiteLlm.SetRefusal("/key/generate", 422, "Rejected by a policy hook");
        RotateResponse started;
        try
        {
            started = await admin.RotateAsync(new { user_ids = ids, grace = "0" });
            await MamaApp.EventuallyAsync(async () =>
            {
                await using var db = app.NewDbContext();
                return await db.KeyUsers.AnyAsync(u => u.UserId == ids[0] && u.SyncAttempts >= 2);
            }, "the step was refused and retried");
            var failed = await admin.ProgressAsync(started.RotationId!);
            Assert.Equal((1, 0, false), (failed.Failed, failed.Pending, failed.Finished));
            Assert.Contains("Rejected by a policy hook", Assert.Single(failed.Failures).Error);
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }

        await admin.UntilAsync(started.RotationId!, p => p.Revoked == 1 && p.Failed == 0 && p.Finished, "the retry finishes the rotation");
        await using var events = app.NewDbContext();
        var failures = (await events.RotationEventsAsync(ids)).Where(e => e.Action == KeyRotationSteps.Failed).ToList();
        Assert.Contains(started.RotationId!, Assert.Single(failures).Detail);
    }

    [Fact]
    public async Task ADryRunCountsTheUsersAndChangesNothing()
    {
        var organization = NewOrganization();
        var (admin, _, ids) = await UsersAsync(2, organization);
        await using var before = app.NewDbContext();
        var rows = await before.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).OrderBy(u => u.UserId).ToListAsync();
        var keys = ids.Select(id => app.LiteLlm.KeysOf(id).Single().Row.ToJsonString()).ToList();
        var rotations = await before.KeyRotations.CountAsync();

        var answer = await (await admin.PostJsonAsync("/api/v1/users/rotate", new { filter = new { organization }, dry_run = true }))
            .ReadAsync<RotateResponse>();

        Assert.Equal((2, true, null), (answer.Total, answer.DryRun, answer.RotationId));
        await using var after = app.NewDbContext();
        var now = await after.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId)).OrderBy(u => u.UserId).ToListAsync();
        Assert.Equal(rows.Select(u => (u.KeyHash, u.Version, u.NextKeyHash, u.RotationId, u.SyncState)), now.Select(u => (u.KeyHash, u.Version, u.NextKeyHash, u.RotationId, u.SyncState)));
        Assert.Equal(rotations, await after.KeyRotations.CountAsync());
        Assert.Equal(keys, ids.Select(id => app.LiteLlm.KeysOf(id).Single().Row.ToJsonString()));
    }

    [Fact]
    public async Task DeletingAUserDuringItsGraceWindowOrBeforeItsNewKeyIsLiveRemovesAllItsKeys()
    {
        var (admin, lookups, ids) = await UsersAsync(2);
        var (inGrace, waiting) = (ids[0], ids[1]);
        var old = (await lookups.LookupAsync(inGrace)).Key;
        var first = await admin.RotateAsync(new { user_ids = new[] { inGrace }, grace = "1h" });
        await admin.UntilAsync(first.RotationId!, p => p.Done == 1, "the new key is live");
        var current = (await lookups.LookupAsync(inGrace)).Key;
        app.LiteLlm.SetRefusal("/key/generate", 429, "Rate limit exceeded");
        RotateResponse second;
        try
        {
            second = await admin.RotateAsync(new { user_ids = new[] { waiting }, grace = "1h" });
            Assert.Equal(HttpStatusCode.OK, (await admin.PostJsonAsync("/api/v1/users/delete", new { user_ids = ids })).StatusCode);
            await MamaApp.EventuallyAsync(async () =>
            {
                await using var db = app.NewDbContext();
                return !await db.KeyUsers.AnyAsync(u => ids.Contains(u.UserId));
            }, "both users are gone");
        }
        finally
        {
            app.LiteLlm.SetRefusal("/key/generate", null);
        }

        Assert.Null(app.LiteLlm.FindKey(old));
        Assert.Null(app.LiteLlm.FindKey(current));
        Assert.All(ids, id => Assert.Empty(app.LiteLlm.KeysOf(id)));
        Assert.Equal(1, (await admin.ProgressAsync(first.RotationId!)).Revoked);
        Assert.Equal(1, (await admin.ProgressAsync(second.RotationId!)).Skipped);
    }
}

public sealed class RotationTestsOnSqlite(SqliteApp app) : RotationTests(app), IClassFixture<SqliteApp>;
public sealed class RotationTestsOnPostgres(PostgresApp app) : RotationTests(app), IClassFixture<PostgresApp>;
