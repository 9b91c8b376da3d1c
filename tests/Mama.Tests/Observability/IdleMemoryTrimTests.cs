using Mama.Observability;
using Mama.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Observability;

public sealed class IdleMemoryTrimTests(SqliteApp app) : IClassFixture<SqliteApp>
{
    private const long MB = 1L << 20;

    [Theory]
    [InlineData(0, 64 * MB, true)] // quiet after a burst
    [InlineData(7 * MB, 100 * MB, true)]
    [InlineData(8 * MB, 100 * MB, false)] // still busy: the collection would be paid while serving
    [InlineData(0, 63 * MB, false)] // quiet, but too little since the last trim to be worth a pause
    [InlineData(0, 0, false)] // at rest and already trimmed
    public void ATrimIsDueOnlyWhenAQuietIntervalFollowsABurst(long inInterval, long sinceTrim, bool due) =>
        Assert.Equal(due, IdleMemoryTrim.IsDue(inInterval, sinceTrim, new MemoryOptions()));

    [Fact]
    public async Task AfterABurstMamaRunsACompactingCollectionAndCountsIt()
    {
        await using var host = app.StartHost(new Dictionary<string, string?>
        {
            ["Mama:Memory:TrimWhenIdle"] = "true",
            ["Mama:Memory:CheckInterval"] = "00:00:00.050",
            ["Mama:Memory:QuietBytes"] = long.MaxValue.ToString(), // this test process is never quiet
            ["Mama:Memory:TrimAfterBytes"] = (32 * MB).ToString(),
        });
        using var recorder = new MetricsRecorder(host.Services.GetRequiredService<MamaMetrics>().Meter);
        var compactedBefore = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;

        await MamaApp.EventuallyAsync(() =>
        {
            for (var i = 0; i < 64; i++) GC.KeepAlive(new byte[MB]); // a burst, left as garbage
            return Task.FromResult(recorder["mama.memory.trims"] > 0);
        }, "a trim after the burst", every: TimeSpan.FromMilliseconds(100));

        var collection = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Assert.True(collection.Index > compactedBefore, "a full blocking collection ran");
        Assert.True(collection.Compacted);
    }

    [Fact]
    public async Task TurnedOffItNeverCollects()
    {
        await using var host = app.StartHost(new Dictionary<string, string?>
        {
            ["Mama:Memory:TrimWhenIdle"] = "false",
            ["Mama:Memory:CheckInterval"] = "00:00:00.010",
            ["Mama:Memory:QuietBytes"] = long.MaxValue.ToString(),
            ["Mama:Memory:TrimAfterBytes"] = "0",
        });
        using var recorder = new MetricsRecorder(host.Services.GetRequiredService<MamaMetrics>().Meter);
        for (var i = 0; i < 20; i++)
        {
            for (var j = 0; j < 8; j++) GC.KeepAlive(new byte[MB]);
            await Task.Delay(25);
        }
        Assert.Equal(0, recorder["mama.memory.trims"]);
    }
}
