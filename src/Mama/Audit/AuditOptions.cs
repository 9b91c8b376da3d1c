using System.ComponentModel.DataAnnotations;

namespace Mama.Audit;

/// <summary>Settings of the audit writer (section <c>Mama:Audit</c>).</summary>
public sealed class AuditOptions
{
    /// <summary>How long a read or refusal waits for its event to be written before it answers 503 (env <c>Mama__Audit__WriteTimeout</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Events waiting to be written at most; past that a request answers 503 at once (env <c>Mama__Audit__QueueSize</c>).</summary>
    [Range(1, 1_000_000)]
    public int QueueSize { get; set; } = 10_000;

    /// <summary>Sign the chain's head after this many events at most (env <c>Mama__Audit__CheckpointEvery</c>).</summary>
    [Range(1, 100_000_000)]
    public int CheckpointEvery { get; set; } = 10_000;

    /// <summary>…or after this long, if any event was written meanwhile (env <c>Mama__Audit__CheckpointInterval</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Delete events older than this many days, up to a signed checkpoint (env <c>Mama__Audit__RetentionDays</c>); unset
    /// (the default) keeps every event.
    /// </summary>
    [Range(1, 36_500)]
    public int? RetentionDays { get; set; }

    /// <summary>How often retention looks for events to delete (env <c>Mama__Audit__RetentionCheckInterval</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "1.00:00:00")]
    public TimeSpan RetentionCheckInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Writes reads' and refusals' events outside the hash chain: only to measure what the chain costs (bench/chain.sh).
    /// Every verification afterwards reports the first such event as inserted (env <c>Mama__Audit__Unchained</c>).
    /// </summary>
    public bool Unchained { get; set; }
}
