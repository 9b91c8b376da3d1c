using System.ComponentModel.DataAnnotations;
using System.Net;
using Mama.Webhooks;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>
/// Settings of the audit stream to a SIEM (section <c>Mama:Audit:Stream</c>). Off while <see cref="Url"/> is unset.
/// The receiver's URL follows the webhooks' rules, <c>Mama:Webhooks:AllowPrivateNetworks</c> included.
/// </summary>
public sealed class AuditStreamOptions
{
    public const string Section = "Mama:Audit:Stream";
    public const int MinSecretBytes = 24;

    /// <summary>Where batches are posted (env <c>Mama__Audit__Stream__Url</c>); unset turns the stream off.</summary>
    public string? Url { get; set; }

    /// <summary>The Standard Webhooks signing secret, <c>whsec_</c> and base64, or base64 alone (env <c>Mama__Audit__Stream__Secret</c>).</summary>
    public string? Secret { get; set; }

    /// <summary>Events in one POST at most.</summary>
    [Range(1, 5000, ErrorMessage = "Mama:Audit:Stream:BatchSize must be between {1} and {2}.")]
    public int BatchSize { get; set; } = 500;

    /// <summary>How often the stream looks for new events once it has caught up.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Mama:Audit:Stream:PollInterval must be between {1} and {2}.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The wait after a failed batch; doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Mama:Audit:Stream:InitialBackoff must be between {1} and {2}.")]
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Mama:Audit:Stream:MaxBackoff must be between {1} and {2}.")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>One POST's timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Mama:Audit:Stream:Timeout must be between {1} and {2}.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Where a stream that has never run starts: <c>beginning</c> (the oldest event kept) or <c>head</c> (only events
    /// written from then on). Read once, at the first start; afterwards the durable cursor decides.
    /// </summary>
    [RegularExpression("(?i)^(beginning|head)$", ErrorMessage = "Mama:Audit:Stream:StartAt must be 'beginning' or 'head'.")]
    public string StartAt { get; set; } = "beginning";

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    public bool StartsAtHead => string.Equals(StartAt, "head", StringComparison.OrdinalIgnoreCase);

    /// <summary>The secret's key bytes, or null when it is neither <c>whsec_</c>+base64 nor base64.</summary>
    public static byte[]? SecretBytes(string? secret)
    {
        if (string.IsNullOrWhiteSpace(secret)) return null;
        var text = secret.Trim();
        if (text.StartsWith("whsec_", StringComparison.Ordinal)) text = text["whsec_".Length..];
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var length) ? bytes[..length] : null;
    }
}

/// <summary>The rules data annotations cannot say: a URL needs a secret, a usable URL, backoffs in order. No message holds the secret or the URL.</summary>
public sealed class AuditStreamOptionsValidator(IOptions<WebhookOptions> webhooks) : IValidateOptions<AuditStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditStreamOptions options)
    {
        var failures = new List<string>();
        if (options.Enabled)
        {
            if (WebhookUrls.CheckForm(options.Url, out var uri) is { } problem)
                failures.Add($"Mama:Audit:Stream:Url (env Mama__Audit__Stream__Url): {problem}");
            else if (!webhooks.Value.AllowPrivateNetworks && IPAddress.TryParse(uri!.DnsSafeHost, out var address) && WebhookUrls.IsPrivate(address))
                failures.Add("Mama:Audit:Stream:Url names a loopback, private or link-local address; such URLs are refused unless Mama:Webhooks:AllowPrivateNetworks is true.");
            if (string.IsNullOrWhiteSpace(options.Secret))
                failures.Add("Mama:Audit:Stream:Url is set, so Mama:Audit:Stream:Secret (env Mama__Audit__Stream__Secret) must be set to the receiver's signing secret: "
                    + $"whsec_ and base64 of at least {AuditStreamOptions.MinSecretBytes} random bytes, e.g. `echo whsec_$(openssl rand -base64 32)`.");
            else if (AuditStreamOptions.SecretBytes(options.Secret) is not { Length: >= AuditStreamOptions.MinSecretBytes })
                failures.Add($"Mama:Audit:Stream:Secret must be base64 (optionally after whsec_) of at least {AuditStreamOptions.MinSecretBytes} bytes.");
        }
        if (options.MaxBackoff < options.InitialBackoff)
            failures.Add("Mama:Audit:Stream:MaxBackoff must not be less than Mama:Audit:Stream:InitialBackoff.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
