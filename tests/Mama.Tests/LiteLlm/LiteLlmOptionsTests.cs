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
}
