using System.ComponentModel.DataAnnotations;

namespace Mama.Webhooks;

/// <summary>Settings under <c>Mama:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>
    /// Lets endpoints point at loopback, private, link-local and unique-local addresses. Off by default: an admin's URL
    /// must not turn mama into a probe of its own network.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }
    /// <summary>First retry delay after a failed delivery; doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(5);
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);
    /// <summary>How long after its event a delivery is retried before it is marked failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromHours(24);
    /// <summary>One delivery attempt's timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How often the dispatcher looks for new events and due deliveries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How long delivered and failed deliveries, and dispatched events, are kept.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan KeepFor { get; set; } = TimeSpan.FromDays(7);
}
