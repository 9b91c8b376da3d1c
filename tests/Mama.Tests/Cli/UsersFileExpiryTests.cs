using Mama.Cli;
using Mama.Components.Pages.Users;

namespace Mama.Tests.Cli;

/// <summary>The optional <c>expires_at</c> column of export files, read back by <c>import users</c> and by the Add users paste.</summary>
public sealed class UsersFileExpiryTests
{
    private const string Key = "sk-existing-0123456789";

    [Theory]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,key,created_at,updated_at,sync_state,expires_at\r\n" +
                "u1,acme,gpt-4o,billing,,sk-existing-0123456789,2026-01-01T00:00:00.0000000+00:00,2026-01-01T00:00:00.0000000+00:00,synced,2027-03-04T05:06:07.0000000+00:00\r\n",
        "2027-03-04T05:06:07Z")]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,key,created_at,updated_at,sync_state,expires_at\r\n" +
                "u1,acme,gpt-4o,billing,,sk-existing-0123456789,2026-01-01T00:00:00.0000000+00:00,2026-01-01T00:00:00.0000000+00:00,synced,\r\n", null)]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,key,created_at,updated_at,sync_state\r\n" +
                "u1,acme,gpt-4o,billing,,sk-existing-0123456789,2026-01-01T00:00:00.0000000+00:00,2026-01-01T00:00:00.0000000+00:00,synced\r\n", null)]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,key,expires_at\r\nu1,acme,gpt-4o,,,sk-existing-0123456789,2027-03-04T14:06:07+09:00\r\n",
        "2027-03-04T05:06:07Z")]
    public void ACsvWithOrWithoutTheColumnImportsWithItsEndDate(string csv, string? expiresAt)
    {
        var file = UsersFile.Parse(csv, jsonLines: false);

        Assert.Empty(file.Refused);
        var user = Assert.Single(file.Users);
        Assert.Equal(("u1", Key), (user.UserId, user.KeyValue));
        Assert.Equal(expiresAt is null ? null : DateTimeOffset.Parse(expiresAt), user.ExpiresAt);
    }

    [Theory]
    [InlineData("""{"user_id":"u1","key":"sk-existing-0123456789","expires_at":"2027-03-04T05:06:07.0000000+00:00"}""", "2027-03-04T05:06:07Z")]
    [InlineData("""{"user_id":"u1","key":"sk-existing-0123456789","expires_at":null}""", null)]
    [InlineData("""{"user_id":"u1","key":"sk-existing-0123456789"}""", null)]
    public void JsonLinesWithOrWithoutTheFieldImportWithTheirEndDate(string line, string? expiresAt)
    {
        var user = Assert.Single(UsersFile.Parse(line + "\n", jsonLines: true).Users);

        Assert.Equal(expiresAt is null ? null : DateTimeOffset.Parse(expiresAt), user.ExpiresAt);
    }

    [Fact]
    public void AnEndDateThatIsNotATimeRefusesItsRowWithTheReason()
    {
        var file = UsersFile.Parse("user_id,key,expires_at\r\nu1,sk-existing-0123456789,next tuesday\r\nu2,sk-existing-9876543210,\r\n", jsonLines: false);

        Assert.Equal("u2", Assert.Single(file.Users).UserId);
        Assert.Contains("expires_at: not an ISO 8601 time", Assert.Single(file.Refused).Reason);
    }

    [Theory]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,expires_at\nu1,acme,gpt-4o,,,2027-03-04T05:06:07Z", "2027-03-04T05:06:07Z")]
    [InlineData("user_id,organization,allowed_models,allowed_services,extra_info,expires_at\nu1,acme,gpt-4o,,,", "2030-01-01T00:00:00Z")]
    [InlineData("u1,acme,gpt-4o,,,", "2030-01-01T00:00:00Z")]
    public void APastedEndDateWinsOverTheDialogsCommonOne(string pasted, string expected)
    {
        var row = Assert.Single(UserDrafts.Parse(pasted));

        Assert.Empty(UserDrafts.Check([row], null));
        Assert.Equal(DateTimeOffset.Parse(expected), row.ToRequest(DateTimeOffset.Parse("2030-01-01T00:00:00Z")).ExpiresAt);
    }

    [Fact]
    public void APastedEndDateThatIsNotATimeIsFlagged()
    {
        var row = Assert.Single(UserDrafts.Parse("user_id,organization,allowed_models,allowed_services,extra_info,expires_at\nu1,acme,gpt-4o,,,soon"));

        Assert.Equal(DraftProblem.InvalidExpiresAt, Assert.Single(UserDrafts.Check([row], null)).Problem);
    }
}
