using System.Net;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Users;

/// <summary>One key, one user, also when many requests bring the same key at once: the database decides, not a check before the insert.</summary>
public abstract class KeyHashUniquenessTests(MamaApp app)
{
    private const int Requests = 10;

    [Fact]
    public async Task TenConcurrentCreatesWithTheSameKeyMakeExactlyOneUserAndTheRestGetA409ThatDoesNotQuoteTheKey()
    {
        using var admin = await app.SuperAdminAsync();
        var key = PlantedKeys.NewKey();
        var ids = Enumerable.Range(0, Requests).Select(_ => UserTestData.NewId("race")).ToList();
        using var saves = new KeySaves(LiteLlmClient.HashKey(key));
        Task<HttpResponseMessage[]> all;
        // Inserts wait behind this lock while reads go on, so every request's check before its insert finds the key unused.
        await using (await InsertLock.HoldAsync(app.Database))
        {
            all = Task.WhenAll(ids.Select(id => Task.Run(() =>
                admin.PostJsonAsync("/api/v1/users", new { users = new[] { new { user_id = id, allowed_models = new[] { "gpt-4o" }, key } }, allow_unknown_models = true }))));
            await MamaApp.EventuallyAsync(() => Task.FromResult(saves.Count == Requests), "every request has checked the key and saves");
        }
        var answers = await all;

        Assert.Single(answers, r => r.StatusCode == HttpStatusCode.Created);
        foreach (var answer in answers.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            var problem = await answer.AssertProblemAsync(HttpStatusCode.Conflict);
            Assert.DoesNotContain(key, problem.GetRawText());
            Assert.DoesNotContain(LiteLlmClient.HashKey(key), problem.GetRawText());
        }
        await using var db = app.NewDbContext();
        var hash = LiteLlmClient.HashKey(key);
        var holder = Assert.Single(await db.KeyUsers.Where(u => u.KeyHash == hash).ToListAsync());
        Assert.Contains(holder.UserId, ids);
        Assert.Equal(1, await db.KeyUsers.CountAsync(u => ids.Contains(u.UserId)));
        var audited = (await db.AuditEvents.Where(e => e.Action == "user.create").ToListAsync()).Where(e => ids.Any(id => e.UserIds.Contains(" " + id + " "))).ToList();
        Assert.Equal(Requests, audited.Count); // the one success and every refusal
        Assert.All(audited, e => Assert.DoesNotContain(key, e.Detail + e.Reason));
    }
}

public sealed class KeyHashUniquenessTestsOnSqlite(SqliteApp app) : KeyHashUniquenessTests(app), IClassFixture<SqliteApp>;
public sealed class KeyHashUniquenessTestsOnPostgres(PostgresApp app) : KeyHashUniquenessTests(app), IClassFixture<PostgresApp>;
