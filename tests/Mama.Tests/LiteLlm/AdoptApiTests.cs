using System.Net;
using Mama.LiteLlm;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.LiteLlm;

/// <summary>Bulk adoption of the proxy's keys: a dry run lists, an apply adopts only keys whose plaintext matches.</summary>
public abstract class AdoptApiTests(MamaApp app)
{
    [Fact]
    public async Task ADryRunListsUnownedKeysAndConflictsInTheFilterAndChangesNothing()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = "ad" + Guid.NewGuid().ToString("N")[..8];
        await app.PlantAsync($"{tag}-a", PlantedKeys.NewKey(), ["gpt-4o"], new { team = tag });
        await app.PlantAsync($"{tag}-b", PlantedKeys.NewKey(), ["gpt-4o"], new { team = "other" });
        await app.PlantAsync($"{tag}-c", PlantedKeys.NewKey());
        await admin.CreateUsersAsync([UserTestData.Row($"{tag}-c"), UserTestData.Row($"{tag}-d")]);
        var before = Snapshot(tag);

        var byAlias = await (await admin.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = tag + "-.*" })).ReadAsync<AdoptResponse>();
        var byMetadata = await (await admin.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = tag + "-.*", metadata = "team=" + tag })).ReadAsync<AdoptResponse>();

        Assert.False(byAlias.Applied);
        Assert.Equal([$"{tag}-a", $"{tag}-b"], byAlias.Unowned.Select(k => k.KeyAlias));
        Assert.Equal(app.LiteLlm.FindKeyByAlias($"{tag}-a")!.Token[..8], byAlias.Unowned[0].KeyHashPrefix);
        Assert.Equal(tag, byAlias.Unowned[0].Metadata.GetProperty("team").GetString());
        Assert.Equal(("conflict", $"{tag}-c"), (byAlias.Conflicts.Single().SyncState, byAlias.Conflicts.Single().UserId));
        Assert.Equal([$"{tag}-a"], byMetadata.Unowned.Select(k => k.KeyAlias));
        await app.Service<KeyReconciler>().CheckDriftAsync(onlyIfDue: false, CancellationToken.None);
        Assert.Equal(before, Snapshot(tag));
    }

    [Fact]
    public async Task AnApplyAdoptsOnlyTheKeysWhosePlaintextMatchesAndReportsTheRest()
    {
        using var admin = await app.SuperAdminAsync();
        var tag = "ad" + Guid.NewGuid().ToString("N")[..8];
        var (a, b, c) = (PlantedKeys.NewKey(), PlantedKeys.NewKey(), PlantedKeys.NewKey());
        await app.PlantAsync($"{tag}-a", a, ["gpt-4o"], new { organization = "acme", team = "ops" });
        await app.PlantAsync($"{tag}-b", b);
        await app.PlantAsync($"{tag}-c", c, []);
        var wrong = PlantedKeys.NewKey();
        var before = Snapshot(tag);

        var response = await admin.PostJsonAsync("/api/v1/litellm/adopt", new
        {
            alias_pattern = tag + "-.*",
            apply = true,
            keys = $"user_id,key\n{tag}-a,{a}\n{tag}-b,{wrong}\n{tag}-c,{c}\nnot-in-filter,{PlantedKeys.NewKey()}\n",
        });

        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(a, body);
        Assert.DoesNotContain(wrong, body);
        var result = await response.ReadAsync<AdoptResponse>();
        Assert.Equal([$"{tag}-a"], result.Adopted);
        Assert.Equal(SyncOutcome.Synced, result.Sync.Single().State);
        Assert.Equal([$"{tag}-b", $"{tag}-c", "not-in-filter"], result.Refused.Select(r => r.UserId));
        Assert.Equal([$"{tag}-b", $"{tag}-c"], result.Unowned.Select(k => k.KeyAlias));
        var adopted = app.LiteLlm.FindKeyByAlias($"{tag}-a")!;
        Assert.Equal((a, "mama"), (adopted.Key, (string?)adopted.Metadata["managed_by"]));
        Assert.Equal(1, app.LiteLlm.Calls.Snapshot().Single(k => k.Token == adopted.Token).Generated);
        Assert.Equal(before.Where(r => !r.StartsWith($"{tag}-a", StringComparison.Ordinal)), Snapshot(tag).Where(r => !r.StartsWith($"{tag}-a", StringComparison.Ordinal)));
        await using var db = app.NewDbContext();
        var user = await db.KeyUsers.SingleAsync(u => u.UserId == $"{tag}-a");
        Assert.Equal(("acme", "gpt-4o", LiteLlmClient.HashKey(a)), (user.Organization, user.ModelNames, user.KeyHash));
        Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId == $"{tag}-b" || u.UserId == $"{tag}-c"));
        var audit = await db.AuditEvents.SingleAsync(e => e.Action == "litellm.adopt" && e.UserIds.Contains($" {tag}-a "));
        Assert.DoesNotContain(a, audit.Detail);
        Assert.DoesNotContain(wrong, audit.Detail);
    }

    [Fact]
    public async Task OnlySuperAdminsAdoptAndABadFilterIsA400()
    {
        using var super = await app.SuperAdminAsync();
        var (_, _, admin) = await app.NewAdminAsync();

        await (await admin.PostJsonAsync("/api/v1/litellm/adopt", new { })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = "(" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { metadata = "no-equals" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { keys = "x,sk-0123456789abcdef" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        var problem = await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { apply = true, keys = "only-one-field-sk-0123456789abcdef" })).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.DoesNotContain("sk-0123456789abcdef", problem.GetRawText());
        // An unbalanced ')' would break out of the anchors mama puts around the pattern and match every alias.
        await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = "x)|(.*" })).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ALineWithItsColumnsSwappedIsRefusedWithoutRepeatingTheKey()
    {
        using var super = await app.SuperAdminAsync();
        var tag = "ad" + Guid.NewGuid().ToString("N")[..8];
        var key = PlantedKeys.NewKey();
        await app.PlantAsync($"{tag}-a", key, ["gpt-4o"]);

        var response = await super.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = tag + "-.*", apply = true, keys = $"{key},{tag}-a" });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Line 1", problem.GetRawText());
        Assert.DoesNotContain(key, problem.GetRawText());
        await using var db = app.NewDbContext();
        Assert.False(await db.KeyUsers.AnyAsync(u => u.UserId.StartsWith(tag)));
    }

    [Fact]
    public async Task TheDryRunShowsOnlyPlainMetadataValuesNotNestedSettingsThatMayHoldSecrets()
    {
        using var super = await app.SuperAdminAsync();
        var tag = "ad" + Guid.NewGuid().ToString("N")[..8];
        await app.PlantAsync($"{tag}-a", PlantedKeys.NewKey(), ["gpt-4o"],
            new { team = tag, budget_note = 3, logging = new[] { new { callback_name = "langfuse", callback_vars = new { langfuse_secret_key = "lf-secret-value" } } } });

        var listing = await (await super.PostJsonAsync("/api/v1/litellm/adopt", new { alias_pattern = tag + "-.*" })).ReadAsync<AdoptResponse>();

        var metadata = Assert.Single(listing.Unowned).Metadata;
        Assert.Equal(tag, metadata.GetProperty("team").GetString());
        Assert.Equal(3, metadata.GetProperty("budget_note").GetInt32());
        Assert.False(metadata.TryGetProperty("logging", out _));
        Assert.DoesNotContain("lf-secret-value", metadata.GetRawText());
    }

    /// <summary>The proxy's rows under the tag, as text: what a test compares to show nothing changed.</summary>
    private List<string> Snapshot(string tag) =>
        app.LiteLlm.GetKeys().Where(k => k.KeyAlias?.StartsWith(tag, StringComparison.Ordinal) == true)
            .OrderBy(k => k.KeyAlias, StringComparer.Ordinal).Select(k => k.KeyAlias + " " + k.Row.ToJsonString()).ToList();
}

public sealed class AdoptApiTestsOnSqlite(SqliteApp app) : AdoptApiTests(app), IClassFixture<SqliteApp>;
public sealed class AdoptApiTestsOnPostgres(PostgresApp app) : AdoptApiTests(app), IClassFixture<PostgresApp>;
