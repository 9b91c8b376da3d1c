using Microsoft.Extensions.Options;

namespace Mama.Observability;

/// <summary><c>Mama:Metrics</c>: the Prometheus scrape endpoint.</summary>
public sealed class MetricsOptions
{
    /// <summary>Serve <c>/metrics</c> in the Prometheus text format (env <c>Mama__Metrics__Prometheus</c>). Off by default.</summary>
    public bool Prometheus { get; set; }

    /// <summary>The bearer token a scraper sends (env <c>Mama__Metrics__Token</c>); required when <see cref="Prometheus"/> is on.</summary>
    public string? Token { get; set; }
}

/// <summary>The metrics are not secret, but they tell an outsider how busy mama is and which proxy calls fail: never open.</summary>
public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public const int MinTokenLength = 16;

    public ValidateOptionsResult Validate(string? name, MetricsOptions options) =>
        !options.Prometheus || options.Token?.Trim().Length >= MinTokenLength
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Mama:Metrics:Prometheus is on, so Mama:Metrics:Token (env Mama__Metrics__Token) must be set to a secret of at least {MinTokenLength} characters, e.g. `openssl rand -base64 32`.");
}
