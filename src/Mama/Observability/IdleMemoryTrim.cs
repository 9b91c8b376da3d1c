using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Mama.Observability;

/// <summary><c>Mama:Memory</c>: giving memory back to the machine when mama is at rest.</summary>
public sealed class MemoryOptions
{
    /// <summary>Return the GC's free memory to the operating system once a burst of work is followed by a quiet interval.</summary>
    public bool TrimWhenIdle { get; set; } = true;

    /// <summary>How often the allocation rate is looked at.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An interval in which less than this was allocated counts as quiet.</summary>
    [Range(0, long.MaxValue)]
    public long QuietBytes { get; set; } = 8L << 20;

    /// <summary>How much must have been allocated since the last trim for another to be worth its pause.</summary>
    [Range(0, long.MaxValue)]
    public long TrimAfterBytes { get; set; } = 64L << 20;
}

/// <summary>
/// The server GC sizes its heaps for throughput and keeps what a burst (an import, a thousand creates, many lookups)
/// made it commit. When mama is quiet afterwards, one aggressive collection gives that memory back. It blocks the
/// process for as long as compacting the live heap takes (milliseconds: the live heap is tens of MB) and runs only
/// when little is being allocated, so almost nothing waits for it.
/// </summary>
public sealed class IdleMemoryTrim(IOptions<MemoryOptions> options, MamaMetrics metrics, ILogger<IdleMemoryTrim> logger) : BackgroundService
{
    /// <summary>Whether to trim now, given what was allocated in the last interval and since the last trim.</summary>
    public static bool IsDue(long allocatedInInterval, long allocatedSinceTrim, MemoryOptions options) =>
        allocatedInInterval < options.QuietBytes && allocatedSinceTrim >= options.TrimAfterBytes;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.TrimWhenIdle) return;
        using var timer = new PeriodicTimer(o.CheckInterval);
        // Totals of the process's allocations: at the last tick and at the last trim.
        var last = GC.GetTotalAllocatedBytes();
        var trimmedAt = last;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = GC.GetTotalAllocatedBytes();
            var (step, sinceTrim) = (now - last, now - trimmedAt);
            last = now;
            if (!IsDue(step, sinceTrim, o)) continue;
            var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
            logger.LogDebug("At rest after {Allocated} bytes allocated: the GC's committed memory went from {Before} to {After} bytes", sinceTrim, before, after);
            metrics.MemoryTrimmed(before - after);
            last = trimmedAt = GC.GetTotalAllocatedBytes();
        }
    }
}
