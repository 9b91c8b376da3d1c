using System.ComponentModel.DataAnnotations;

namespace Mama.LiteLlm;

public sealed class LiteLlmOptions
{
    /// <summary>The proxy's base URL, e.g. https://litellm.internal:4000 (env <c>LiteLlm__BaseUrl</c>).</summary>
    public Uri? BaseUrl { get; set; }
    /// <summary>The proxy's master key (env <c>LiteLlm__MasterKey</c>). Never logged.</summary>
    public string? MasterKey { get; set; }
    /// <summary>Host a LiteLLM emulator inside mama instead of calling a real proxy (the Development default).</summary>
    public bool UseEmulator { get; set; }
    /// <summary>One HTTP attempt's timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a request that changes users waits for their inline sync before answering "pending".</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan InlineSyncBudget { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// The most proxy calls one sync keeps in flight; within it, the number follows the proxy's answer time
    /// (<see cref="ProxyCalls.InFlightFor(int)"/>): about 40 at 20 ms.
    /// </summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 64;
    /// <summary>How often the background reconciler looks for pending users.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>First retry delay after a failed sync; doubles per attempt up to <see cref="MaxBackoff"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(2);
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>How often every mama-managed key on the proxy is compared with the database. Zero turns it off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan DriftCheckInterval { get; set; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// A user's sync lease: taken just before the user is pushed and renewed while the push runs, so the users of an
    /// instance that died are taken over by another within about this long (plus one reconcile interval).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SyncLease { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>How often a held lease (a user's, or the drift check's) is renewed; must be well under <see cref="SyncLease"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:30:00")]
    public TimeSpan SyncLeaseRenewal { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>How long the circuit breaker stays open after the proxy failed repeatedly.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Who owns the keys in LiteLLM (the key's <c>user_id</c>): <c>user</c> (the mama user ID), <c>none</c> (no owner sent),
    /// or any other value as one fixed LiteLLM user ID. A key inherits its owner's limits and budget.
    /// </summary>
    public string KeyOwner { get; set; } = KeyOwners.User;
    /// <summary>Unset: no <c>key_type</c> is sent (older proxies). <c>llm_api</c>: new keys can only call model routes.</summary>
    public string? KeyType { get; set; }
    /// <summary>How long the proxy's model list is cached.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ModelsCacheDuration { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>A .NET regex every new user ID (the key alias) must match as a whole, like LiteLLM's <c>key_alias_pattern</c>; empty = none.</summary>
    public string? KeyAliasPattern { get; set; }
}

/// <summary>Without the emulator, the proxy's URL and master key are required: checked at start, naming the setting.</summary>
public sealed class LiteLlmOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<LiteLlmOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, LiteLlmOptions options)
    {
        var failures = new List<string>();
        if (options.SyncLeaseRenewal * 2 > options.SyncLease)
            failures.Add("LiteLlm:SyncLeaseRenewal must be at most half of LiteLlm:SyncLease, so one late renewal does not lose the lease.");
        if (KeyOwners.Problem(options.KeyOwner) is { } owner) failures.Add(owner);
        if (!string.IsNullOrEmpty(options.KeyType) && options.KeyType != KeyOwners.LlmApiKeyType)
            failures.Add($"LiteLlm:KeyType must be empty (no key_type sent) or '{KeyOwners.LlmApiKeyType}'.");
        if (!options.UseEmulator)
        {
            if (options.BaseUrl is null)
                failures.Add("LiteLlm:BaseUrl (env LiteLlm__BaseUrl) is required: the URL of the LiteLLM proxy.");
            else if (!options.BaseUrl.IsAbsoluteUri || (options.BaseUrl.Scheme != Uri.UriSchemeHttp && options.BaseUrl.Scheme != Uri.UriSchemeHttps))
                failures.Add("LiteLlm:BaseUrl must be an absolute http(s) URL.");
            if (string.IsNullOrWhiteSpace(options.MasterKey))
                failures.Add("LiteLlm:MasterKey (env LiteLlm__MasterKey) is required: the proxy's master key.");
        }
        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The values of <see cref="LiteLlmOptions.KeyOwner"/> and what each puts into a key's <c>user_id</c>.</summary>
public static class KeyOwners
{
    public const string User = "user";
    public const string None = "none";
    public const string LlmApiKeyType = "llm_api";

    /// <summary>The <c>user_id</c> a key of <paramref name="userId"/> gets; null when none is sent.</summary>
    public static string? OwnerOf(string setting, string userId) => setting switch
    {
        User => userId,
        None => null,
        _ => setting,
    };

    public static string? Problem(string? setting) =>
        string.IsNullOrEmpty(setting) || setting.Trim() != setting || setting.Length > 255 || setting.Any(char.IsControl)
            ? $"LiteLlm:KeyOwner must be '{User}' (the mama user ID), '{None}' (no owner) or a LiteLLM user ID (no surrounding spaces or control characters, at most 255 characters)."
            : null;
}
