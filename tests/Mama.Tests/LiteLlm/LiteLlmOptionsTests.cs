using Mama.LiteLlm;

namespace Mama.Tests.LiteLlm;

public sealed class LiteLlmOptionsTests
{
    [Theory]
    [InlineData("00:00:15", "00:00:05", true)]
    [InlineData("00:00:04", "00:00:02", true)]
    [InlineData("00:00:15", "00:00:08", false)]
    [InlineData("00:00:03", "00:00:05", false)]
    public void TheLeaseRenewalMustBeAtMostHalfTheLease(string lease, string renewal, bool valid)
    {
        var options = new LiteLlmOptions { UseEmulator = true, SyncLease = TimeSpan.Parse(lease), SyncLeaseRenewal = TimeSpan.Parse(renewal) };

        var result = new LiteLlmOptionsValidator().Validate(null, options);

        Assert.Equal(valid, result.Succeeded);
        if (!valid) Assert.Contains("LiteLlm:SyncLeaseRenewal", result.FailureMessage);
    }

    [Fact]
    public void ByDefaultALeaseLastsFifteenSecondsAndIsRenewedEveryFive()
    {
        var options = new LiteLlmOptions { UseEmulator = true };

        Assert.Equal((TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5)), (options.SyncLease, options.SyncLeaseRenewal));
        Assert.True(new LiteLlmOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(null, 64, 64)] // before the proxy has answered once: the most allowed
    [InlineData(20.0, 64, 40)] // 2,000 calls a second at 20 ms each
    [InlineData(1.0, 64, 8)] // a fast proxy: never fewer than the 8 every sync used before
    [InlineData(100.0, 64, 64)] // a slow one: no more than LiteLlm:MaxConcurrency
    [InlineData(20.0, 16, 16)]
    [InlineData(1.0, 2, 2)] // an operator's lower bound wins over the floor
    public void TheCallsASyncKeepsInFlightFollowTheProxysAnswerTimeWithinTheConfiguredMost(double? latencyMs, int max, int expected)
    {
        var latency = latencyMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;

        Assert.Equal(expected, ProxyCalls.InFlightFor(latency, max));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, true)]
    [InlineData(64, true)]
    [InlineData(256, true)]
    [InlineData(257, false)]
    public void TheMostCallsInFlightIsBetweenOneAnd256(int max, bool valid)
    {
        var options = new LiteLlmOptions { UseEmulator = true, MaxConcurrency = max };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.Equal(valid, System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true));
        Assert.Equal(64, new LiteLlmOptions().MaxConcurrency);
    }
}
