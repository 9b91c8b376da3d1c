using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>
/// What the proxy allows as a custom <c>key</c> on <c>/key/generate</c>, and a fault for crash tests: a generate that
/// stores its key and then holds its answer, as a proxy whose response is lost after the write.
/// </summary>
public sealed class KeyPolicy
{
    /// <summary>LiteLLM's <c>MINIMUM_CUSTOM_KEY_LENGTH</c> default (PR #33462).</summary>
    public const int DefaultMinimumCustomKeyLength = 16;

    private readonly Lock _gate = new();
    private bool _customKeysDisabled;
    private int _minimumLength = DefaultMinimumCustomKeyLength;
    private TaskCompletionSource _released = NewRelease();
    private bool _stall;
    private int _stalled;
    private int _refused;
    private int _minted;

    /// <summary><c>general_settings.disable_custom_api_keys</c>: a generate with a <c>key</c> gets 403.</summary>
    public bool CustomKeysDisabled
    {
        get { lock (_gate) { return _customKeysDisabled; } }
        set { lock (_gate) { _customKeysDisabled = value; } }
    }

    /// <summary><c>MINIMUM_CUSTOM_KEY_LENGTH</c>: a shorter custom key gets 400.</summary>
    public int MinimumCustomKeyLength
    {
        get { lock (_gate) { return _minimumLength; } }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1000);
            lock (_gate) { _minimumLength = value; }
        }
    }

    /// <summary>When on, a successful generate stores its key and then holds the answer until this is turned off (or the caller gives up).</summary>
    public bool StallGenerateAfterStore
    {
        get { lock (_gate) { return _stall; } }
        set
        {
            lock (_gate)
            {
                if (_stall && !value) _released.TrySetResult();
                if (!_stall && value) _released = NewRelease();
                _stall = value;
            }
        }
    }

    /// <summary>Generates whose key is stored and whose answer is being held now.</summary>
    public int StalledGenerates => Volatile.Read(ref _stalled);

    /// <summary>Generates refused for their custom key (disabled or too short) since the last reset.</summary>
    public int RefusedCustomKeys => Volatile.Read(ref _refused);

    /// <summary>Generates without a <c>key</c>, whose key the proxy minted, since the last reset.</summary>
    public int MintedKeys => Volatile.Read(ref _minted);

    /// <summary>Checks a generate's custom key, as LiteLLM does before it stores anything.</summary>
    internal void Check(JsonObject request)
    {
        if ((string?)request["key"] is not { } key)
        {
            Interlocked.Increment(ref _minted);
            return;
        }
        lock (_gate)
        {
            if (_customKeysDisabled)
            {
                Interlocked.Increment(ref _refused);
                // The check LiteLLM added with PR #23812 (_check_custom_key_allowed), enforced from config since PR #42437.
                throw new ProxyError(403, "Custom key values are disabled on this proxy (disable_custom_api_keys). Keys must be auto-generated.", "internal_server_error", "None");
            }
            if (key.StartsWith("sk-", StringComparison.Ordinal) && key.Length < _minimumLength)
            {
                Interlocked.Increment(ref _refused);
                throw ProxyError.Wrapped(400, $"Invalid key format. LiteLLM Virtual Key must be at least {_minimumLength} characters long.");
            }
        }
    }

    /// <summary>Holds a generate's answer while <see cref="StallGenerateAfterStore"/> is on; its key is already stored.</summary>
    internal async Task StallAsync(CancellationToken aborted)
    {
        Task released;
        lock (_gate)
        {
            if (!_stall) return;
            released = _released.Task;
        }
        Interlocked.Increment(ref _stalled);
        try
        {
            await released.WaitAsync(aborted);
        }
        finally
        {
            Interlocked.Decrement(ref _stalled);
        }
    }

    internal void Reset()
    {
        lock (_gate)
        {
            _customKeysDisabled = false;
            _minimumLength = DefaultMinimumCustomKeyLength;
            _released.TrySetResult();
            _stall = false;
        }
        Volatile.Write(ref _refused, 0);
        Volatile.Write(ref _minted, 0);
    }

    internal JsonObject Describe()
    {
        lock (_gate)
        {
            return new JsonObject
            {
                ["custom_keys_disabled"] = _customKeysDisabled,
                ["minimum_custom_key_length"] = _minimumLength,
                ["stall_generate_after_store"] = _stall,
                ["stalled_generates"] = StalledGenerates,
                ["refused_custom_keys"] = RefusedCustomKeys,
                ["minted_keys"] = MintedKeys,
            };
        }
    }

    private static TaskCompletionSource NewRelease() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
