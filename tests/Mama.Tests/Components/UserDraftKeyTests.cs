using Mama.Components.Pages.Users;

namespace Mama.Tests.Components;

/// <summary>The Add users dialog's optional key column, in pasted lines and in its checks.</summary>
public sealed class UserDraftKeyTests
{
    [Theory]
    [InlineData("u1,acme,gpt-4o,billing,note,sk-existing-0123456789", "sk-existing-0123456789")]
    [InlineData("u1\tacme\tgpt-4o\tbilling\tnote\t sk-existing-0123456789 ", "sk-existing-0123456789")]
    [InlineData("u1,acme,gpt-4o,billing,note", null)]
    [InlineData("u1,acme,gpt-4o,billing,note,", null)]
    public void APastedSixthFieldIsTheKeyTheUserKeeps(string line, string? key)
    {
        var row = Assert.Single(UserDrafts.Parse("user_id,organization,models,services,extra_info,key\n" + line));

        Assert.Equal(key, row.ToRequest().Key);
        Assert.Empty(UserDrafts.Check([row], null));
    }

    [Theory]
    [InlineData("pk-not-a-litellm-key-0123")]
    [InlineData("sk-short")]
    [InlineData("sk-with space-0123456789")]
    public void ABadKeyIsFlaggedInWordsThatDoNotRepeatIt(string key)
    {
        var row = new UserDraft { UserId = "u1", Key = key };

        var check = Assert.Single(UserDrafts.Check([row], null));

        Assert.Equal(DraftProblem.InvalidKey, check.Problem);
        Assert.DoesNotContain(key, check.Value);
    }
}
