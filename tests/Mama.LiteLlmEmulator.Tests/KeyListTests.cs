namespace Mama.LiteLlmEmulator.Tests;

public sealed class KeyListTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private async Task<List<string>> NewKeysAsync(string userId, int count)
    {
        var keys = new List<string>();
        for (var i = 0; i < count; i++)
        {
            keys.Add((string)(await fixture.Admin.GenerateAsync(new JsonObject { ["user_id"] = userId }))["key"]!);
        }
        return keys;
    }

    [Fact]
    public async Task TheListHoldsHashesByDefault()
    {
        var userId = EmulatorFixture.Unique("u");
        var key = (await NewKeysAsync(userId, 1))[0];

        var reply = await fixture.Admin.GetAsync($"/key/list?user_id={userId}");

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Sha.Hash(key), (string?)reply.Obj["keys"]![0]);
        Assert.Equal(1, reply.Obj["total_count"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheListIncludesTheMasterKeysOwnRow()
    {
        var reply = await fixture.Admin.GetAsync("/key/list?user_id=default_user_id&return_full_object=true");

        var row = reply.Obj["keys"]!.AsArray().Single(k => (string?)k!["token"] == Sha.Hash(EmulatorFixture.MasterKey))!;
        Assert.Null(row["key_alias"]);
        Assert.Equal("default_user_id", (string?)row["user_id"]);
    }

    [Fact]
    public async Task FullObjectsCarryTheTokenAndNameTheOrganisationOrgId()
    {
        var userId = EmulatorFixture.Unique("u");
        await fixture.Admin.GenerateAsync(new JsonObject { ["user_id"] = userId, ["organization_id"] = "org-1", ["metadata"] = new JsonObject { ["m"] = 1 } });

        var reply = await fixture.Admin.GetAsync($"/key/list?user_id={userId}&return_full_object=true");

        var item = reply.Obj["keys"]![0]!.AsObject();
        Assert.Equal(64, ((string)item["token"]!).Length);
        Assert.Equal("org-1", (string?)item["org_id"]);
        Assert.Equal(1, item["metadata"]!["m"]!.GetValue<int>());
        Assert.True(item.ContainsKey("expires"));
        Assert.True(item.ContainsKey("blocked"));
    }

    [Fact]
    public async Task PaginationReportsTotalsAndAPagePastTheEndIsEmpty()
    {
        var userId = EmulatorFixture.Unique("u");
        await NewKeysAsync(userId, 3);

        var first = await fixture.Admin.GetAsync($"/key/list?user_id={userId}&size=2&page=1");
        var second = await fixture.Admin.GetAsync($"/key/list?user_id={userId}&size=2&page=2");
        var past = await fixture.Admin.GetAsync($"/key/list?user_id={userId}&size=2&page=3");

        Assert.Equal(2, first.Obj["keys"]!.AsArray().Count);
        Assert.Equal(3, first.Obj["total_count"]!.GetValue<int>());
        Assert.Equal(2, first.Obj["total_pages"]!.GetValue<int>());
        Assert.Equal(1, first.Obj["current_page"]!.GetValue<int>());
        Assert.Single(second.Obj["keys"]!.AsArray());
        Assert.Equal(2, second.Obj["current_page"]!.GetValue<int>());
        Assert.Empty(past.Obj["keys"]!.AsArray());
    }

    [Fact]
    public async Task KeysAreOrderedNewestFirst()
    {
        var userId = EmulatorFixture.Unique("u");
        var keys = await NewKeysAsync(userId, 3);

        var reply = await fixture.Admin.GetAsync($"/key/list?user_id={userId}");

        Assert.Equal(keys.AsEnumerable().Reverse().Select(Sha.Hash), reply.Obj["keys"]!.AsArray().Select(k => (string)k!));
    }

    [Fact]
    public async Task TheAliasFilterIsAnExactCaseSensitiveMatch()
    {
        var alias = EmulatorFixture.Unique("Alias");
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias }))["key"]!;
        await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias + "-suffix" });

        var exact = await fixture.Admin.GetAsync($"/key/list?key_alias={alias}");
        var otherCase = await fixture.Admin.GetAsync($"/key/list?key_alias={alias.ToUpperInvariant()}");

        Assert.Equal([Sha.Hash(key)], exact.Obj["keys"]!.AsArray().Select(k => (string)k!));
        Assert.Empty(otherCase.Obj["keys"]!.AsArray());
    }

    [Fact]
    public async Task AKoreanAliasWithSpacesIsAcceptedAndFoundByItsPercentEncodedForm()
    {
        var alias = "김 민지 " + EmulatorFixture.Unique("홍길동");
        var key = (string)(await fixture.Admin.GenerateAsync(new JsonObject { ["key_alias"] = alias }))["key"]!;

        var listed = await fixture.Admin.GetAsync($"/key/list?return_full_object=true&key_alias={Uri.EscapeDataString(alias)}");

        var row = Assert.Single(listed.Obj["keys"]!.AsArray())!;
        Assert.Equal(Sha.Hash(key), (string?)row["token"]);
        Assert.Equal(alias, (string?)row["key_alias"]);
    }

    [Fact]
    public async Task BlockedAndExpiredKeysAreStillListed()
    {
        var userId = EmulatorFixture.Unique("u");
        await fixture.Admin.GenerateAsync(new JsonObject { ["user_id"] = userId, ["blocked"] = true });

        var reply = await fixture.Admin.GetAsync($"/key/list?user_id={userId}");

        Assert.Single(reply.Obj["keys"]!.AsArray());
    }

    [Fact]
    public async Task ASizeAbove100IsAFastApi422()
    {
        var reply = await fixture.Admin.GetAsync("/key/list?size=500");

        var item = reply.AssertValidationError();
        Assert.Equal("less_than_equal", (string?)item["type"]);
        Assert.Equal("""["query","size"]""", item["loc"]!.ToJsonString());
    }

    [Fact]
    public async Task AnUnknownSortColumnIsABadRequest()
    {
        var reply = await fixture.Admin.GetAsync("/key/list?sort_by=colour");

        reply.AssertError(
            HttpStatusCode.BadRequest,
            "{'error': 'Invalid sort column. Must be one of: spend, max_budget, created_at, updated_at, token, key_alias'}",
            "internal_server_error",
            "None");
    }
}
