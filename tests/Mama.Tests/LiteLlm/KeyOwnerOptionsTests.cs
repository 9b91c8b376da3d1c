using Mama.LiteLlm;

namespace Mama.Tests.LiteLlm;

public sealed class KeyOwnerOptionsTests
{
    [Theory]
    [InlineData("user", null, true)]
    [InlineData("none", null, true)]
    [InlineData("litellm-svc-mama", "llm_api", true)]
    [InlineData("user", "", true)]
    [InlineData("", null, false)]
    [InlineData(" padded", null, false)]
    [InlineData("bell\u0007", null, false)]
    [InlineData("user", "management", false)]
    [InlineData("user", "LLM_API", false)]
    public void KeyOwnerAndKeyTypeAreCheckedAtStart(string owner, string? keyType, bool valid)
    {
        var options = new LiteLlmOptions { UseEmulator = true, KeyOwner = owner, KeyType = keyType };

        var result = new LiteLlmOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid) Assert.Contains(keyType is "management" or "LLM_API" ? "LiteLlm:KeyType" : "LiteLlm:KeyOwner", result.FailureMessage);
    }

    [Theory]
    [InlineData("user", "alice", "alice")]
    [InlineData("none", "alice", null)]
    [InlineData("litellm-svc-mama", "alice", "litellm-svc-mama")]
    public void TheKeyOwnerSettingDecidesTheKeysUserId(string setting, string userId, string? owner) =>
        Assert.Equal(owner, KeyOwners.OwnerOf(setting, userId));

    [Fact]
    public void ByDefaultKeysAreOwnedByTheirUserAndHaveNoKeyType()
    {
        var options = new LiteLlmOptions();

        Assert.Equal(("user", null), (options.KeyOwner, options.KeyType));
    }
}
