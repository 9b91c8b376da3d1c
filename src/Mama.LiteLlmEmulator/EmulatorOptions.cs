namespace Mama.LiteLlmEmulator;

/// <summary>What a duplicate custom <c>key</c> on <c>/key/generate</c> does (CONTRACT §3.4).</summary>
public enum DuplicateKeyMode
{
    /// <summary>Current upstream: 200 echoing the request, stored key unchanged (issue #20494).</summary>
    NoOp,

    /// <summary>Proposed fix: 400 "Key already exists".</summary>
    Reject,
}

public sealed class EmulatorOptions
{
    public static IReadOnlyList<string> DefaultModels { get; } =
        ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "text-embedding-3-small"];

    /// <summary>Port on 127.0.0.1; 0 picks any free port.</summary>
    public int Port { get; set; }

    public string MasterKey { get; set; } = "sk-emulator-master-key-change-me";

    /// <summary>One deployment per entry (repeat a name for several deployments); null means <see cref="DefaultModels"/>.</summary>
    public IList<string>? Models { get; set; }

    public DuplicateKeyMode DuplicateKeyMode { get; set; } = DuplicateKeyMode.NoOp;

    /// <summary>Old proxies (≤ ~v1.55) answer 400 "Not all keys passed in were deleted" instead of 404.</summary>
    public bool LegacyDeleteErrors { get; set; }

    /// <summary>Answer a chunked request body with 411, as gateways and WAFs in front of LiteLLM often do.</summary>
    public bool RequireContentLength { get; set; }

    /// <summary>Real proxies retry before answering 401 to an update of a missing key (≈1–3 s).</summary>
    public TimeSpan MissingKeyUpdateDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Mirrors <c>disable_adding_master_key_hash_to_db</c> when false.</summary>
    public bool AddMasterKeyRow { get; set; } = true;

    public bool LogToConsole { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Only the command-line runner reacts to Ctrl+C/SIGTERM; a hosted emulator stops when its owner disposes it.</summary>
    internal bool Standalone { get; set; }
}
