using Mama.LiteLlm;

namespace Mama.Tests.LiteLlm;

/// <summary>Which /key/generate failures mean "the proxy will not take mama's key value", so that it mints the key instead.</summary>
public sealed class CustomKeyRefusalTests
{
    [Theory]
    [InlineData(403, "Custom key values are disabled on this proxy (disable_custom_api_keys). Keys must be auto-generated.", false, true)]
    [InlineData(403, "Authentication Failed - Custom Auth Rule", false, true)]
    [InlineData(400, "{'error': 'Invalid key format. LiteLLM Virtual Key must be at least 64 characters long.'}", false, true)]
    [InlineData(400, "{'error': \"Invalid key format. LiteLLM Virtual Key must start with 'sk-'. Received: sk-***\"}", false, true)]
    [InlineData(400, "Key with alias 'alice' already exists. Unique key aliases across all keys are required.", false, false)]
    [InlineData(400, "{'error': 'Key already exists'}", false, false)]
    [InlineData(401, "Authentication Error, Invalid proxy server token passed.", false, false)]
    [InlineData(403, "User can only create keys for themselves.", false, false)]
    [InlineData(503, "{'error': 'no_db_connection'}", true, false)]
    [InlineData(429, "Custom key rate limit", true, false)]
    public void AGenerateFailureIsACustomKeyRefusalOnlyByItsStatusAndWords(int status, string message, bool transient, bool refusal) =>
        Assert.Equal(refusal, KeyMinting.IsCustomKeyRefusal(new LiteLlmException($"LiteLLM refused to generate key: {status} {message}", status, transient)));
}
