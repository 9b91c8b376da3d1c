using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Control;
using Mama.LiteLlmEmulator.Http;
using Mama.LiteLlmEmulator.Keys;
using Mama.LiteLlmEmulator.Models;

namespace Mama.LiteLlmEmulator;

/// <summary>A key as the emulator stores it; <see cref="Key"/> is the raw key when it was ever seen (generated or custom).</summary>
public sealed record EmulatedKey(
    string Token,
    string? Key,
    string? KeyAlias,
    string? UserId,
    string? TeamId,
    IReadOnlyList<string> Models,
    JsonObject Metadata,
    bool Blocked,
    DateTimeOffset? Expires,
    DateTimeOffset CreatedAt,
    JsonObject Row)
{
    /// <summary>The <c>key_type</c> the key was generated with, read back from the <c>allowed_routes</c> LiteLLM set for it.</summary>
    public string? KeyType => KeyTypes.FromAllowedRoutes(Row["allowed_routes"] as JsonArray);
}

/// <summary>A status and message a route answers instead of doing its work.</summary>
internal sealed record Refusal(int Status, string Message);

/// <summary>The emulator's state and the knobs tests turn: faults, model list, behaviour modes, stored keys.</summary>
public sealed partial class EmulatorControl
{
    private readonly Lock _gate = new();
    private readonly EmulatorOptions _options;
    private readonly Dictionary<string, TimeSpan> _routeLatency = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _routeErrorRate = new(StringComparer.Ordinal);
    private TimeSpan _latency;
    private double _errorRate;
    private bool _down;
    private List<ModelDeployment> _models = [];
    private DuplicateKeyMode _duplicateKeyMode;
    private bool _legacyDeleteErrors;
    private bool _requireContentLength;
    private int _chunkedBodies;
    private int _sizedBodies;
    private bool _noDb;
    private readonly Dictionary<string, Refusal> _refusals = new(StringComparer.Ordinal);

    internal EmulatorControl(EmulatorOptions options)
    {
        _options = options;
        MasterKey = options.MasterKey;
        Clock = options.TimeProvider;
        MissingKeyUpdateDelay = options.MissingKeyUpdateDelay;
        Reset();
    }

    public string MasterKey { get; }
    public TimeProvider Clock { get; }
    public TimeSpan MissingKeyUpdateDelay { get; }
    internal KeyStore Keys { get; } = new();
    /// <summary>Custom keys refused or too short, and the generate that stalls after storing (<see cref="Mama.LiteLlmEmulator.Keys.KeyPolicy"/>).</summary>
    public KeyPolicy KeyPolicy { get; } = new();
    /// <summary>Per-key request counts since the start or the last <see cref="Reset"/>.</summary>
    public CallLog Calls { get; } = new();
    /// <summary>Every proxy request's method and URL (query string included) since the start or the last <see cref="Reset"/>.</summary>
    public RequestLog Requests { get; } = new();

    public bool IsDown { get { lock (_gate) { return _down; } } }

    public DuplicateKeyMode DuplicateKeyMode
    {
        get { lock (_gate) { return _duplicateKeyMode; } }
        set { lock (_gate) { _duplicateKeyMode = value; } }
    }

    public bool LegacyDeleteErrors
    {
        get { lock (_gate) { return _legacyDeleteErrors; } }
        set { lock (_gate) { _legacyDeleteErrors = value; } }
    }

    /// <summary>Like a proxy whose own database is unreachable: management routes (/key/*) answer 503 <c>no_db_connection</c>.</summary>
    public bool NoDb
    {
        get { lock (_gate) { return _noDb; } }
        set { lock (_gate) { _noDb = value; } }
    }

    /// <summary>
    /// Like a policy hook (<c>custom_key_generate</c>, <c>custom_key_update</c>, upper bounds) refusing every request to
    /// <paramref name="route"/> with <paramref name="status"/> (400, 401, 403, 404, 422 or 429); <c>{key}</c> in the message becomes the key
    /// as the request sent it. A null <paramref name="status"/> lifts the refusal.
    /// </summary>
    public void SetRefusal(string route, int? status, string? message = null)
    {
        if (status is { } code && code is not (400 or 401 or 403 or 404 or 422 or 429))
            throw new ArgumentOutOfRangeException(nameof(status), "A refusal is a 400, 401, 403, 404, 422 or 429.");
        lock (_gate)
        {
            if (status is null) _refusals.Remove(route);
            else _refusals[route] = new Refusal(status.Value, message ?? "Refused by the proxy's policy.");
        }
    }

    internal Refusal? RefusalFor(string path)
    {
        lock (_gate) { return _refusals.GetValueOrDefault(path); }
    }

    /// <summary>Like a strict gateway or WAF: a request body sent chunked (without Content-Length) gets 411.</summary>
    public bool RequireContentLength
    {
        get { lock (_gate) { return _requireContentLength; } }
        set { lock (_gate) { _requireContentLength = value; } }
    }

    /// <summary>Proxy requests whose body came with <c>Transfer-Encoding: chunked</c>, since the last reset.</summary>
    public int ChunkedBodies => Volatile.Read(ref _chunkedBodies);

    /// <summary>Proxy requests whose body came with a <c>Content-Length</c>, since the last reset.</summary>
    public int SizedBodies => Volatile.Read(ref _sizedBodies);

    /// <summary>Counts how a request body was framed; false when the request must be refused with 411.</summary>
    internal bool RecordBodyFraming(bool chunked)
    {
        if (!chunked) { Interlocked.Increment(ref _sizedBodies); return true; }
        Interlocked.Increment(ref _chunkedBodies);
        return !RequireContentLength;
    }

    public IReadOnlyList<string> ModelNames { get { lock (_gate) { return [.. _models.Select(m => m.ModelName)]; } } }

    internal IReadOnlyList<ModelDeployment> Deployments { get { lock (_gate) { return [.. _models]; } } }

    /// <summary>Delay before answering; <paramref name="route"/> (a path such as "/key/generate") overrides the global value.</summary>
    public void SetLatency(TimeSpan latency, string? route = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(latency, TimeSpan.Zero);
        lock (_gate)
        {
            if (route is null) { _latency = latency; } else { _routeLatency[route] = latency; }
        }
    }

    /// <summary>Share of requests (0..1) answered with a 500 envelope; per route when <paramref name="route"/> is given.</summary>
    public void SetErrorRate(double rate, string? route = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rate, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rate, 1);
        lock (_gate)
        {
            if (route is null) { _errorRate = rate; } else { _routeErrorRate[route] = rate; }
        }
    }

    /// <summary>When down, every proxy route aborts the connection without an answer; /_emulator routes keep working.</summary>
    public void SetDown(bool down)
    {
        lock (_gate) { _down = down; }
    }

    /// <summary>One deployment per name; repeat a name for several deployments of one model group; empty = no models.</summary>
    public void SetModels(IEnumerable<string> modelNames)
    {
        var deployments = modelNames.Select(ModelDeployment.For).ToList();
        lock (_gate) { _models = deployments; }
    }

    internal (TimeSpan Latency, double ErrorRate) FaultsFor(string path)
    {
        lock (_gate)
        {
            return (_routeLatency.GetValueOrDefault(path, _latency), _routeErrorRate.GetValueOrDefault(path, _errorRate));
        }
    }

    public IReadOnlyList<EmulatedKey> GetKeys()
    {
        lock (Keys.Gate)
        {
            return [.. Keys.Rows.Values.OrderBy(r => r.CreatedAt).Select(ToEmulatedKey)];
        }
    }

    /// <summary>Looks a key up by raw key or hash.</summary>
    public EmulatedKey? FindKey(string rawOrHash)
    {
        lock (Keys.Gate)
        {
            var row = Keys.Find(rawOrHash);
            return row is null ? null : ToEmulatedKey(row);
        }
    }

    /// <summary>Back to the options the emulator started with: only the master key's row, no faults.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _routeLatency.Clear();
            _routeErrorRate.Clear();
            _latency = TimeSpan.Zero;
            _errorRate = 0;
            _down = false;
            _duplicateKeyMode = _options.DuplicateKeyMode;
            _legacyDeleteErrors = _options.LegacyDeleteErrors;
            _requireContentLength = _options.RequireContentLength;
            _chunkedBodies = 0;
            _sizedBodies = 0;
            _noDb = false;
            _refusals.Clear();
            _models = ((IEnumerable<string>?)_options.Models ?? EmulatorOptions.DefaultModels).Select(ModelDeployment.For).ToList();
            ResetProxySwitches();
        }
        Calls.Clear();
        Requests.Clear();
        KeyPolicy.Reset();
        lock (Keys.Gate)
        {
            Keys.Clear();
            if (_options.AddMasterKeyRow)
            {
                var now = Clock.GetUtcNow();
                var row = KeyRow.NewRow(Formats.Sha256Hex(MasterKey), Formats.KeyName(MasterKey), now);
                row["user_id"] = "default_user_id";
                Keys.Add(new KeyRow(row, MasterKey, now));
            }
        }
    }

    internal JsonObject Describe()
    {
        lock (_gate)
        {
            var state = new JsonObject
            {
                ["down"] = _down,
                ["latency_ms"] = _latency.TotalMilliseconds,
                ["route_latency_ms"] = new JsonObject(_routeLatency.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value.TotalMilliseconds))),
                ["error_rate"] = _errorRate,
                ["route_error_rate"] = new JsonObject(_routeErrorRate.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                ["duplicate_key_mode"] = _duplicateKeyMode == DuplicateKeyMode.Reject ? "reject" : "noop",
                ["legacy_delete_errors"] = _legacyDeleteErrors,
                ["require_content_length"] = _requireContentLength,
                ["no_db"] = _noDb,
                ["refusals"] = new JsonObject(_refusals.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)new JsonObject { ["status"] = p.Value.Status, ["message"] = p.Value.Message }))),
                ["requests_logged"] = Requests.Count,
                ["bodies"] = new JsonObject { ["content_length"] = _sizedBodies, ["chunked"] = _chunkedBodies },
                ["models"] = new JsonArray([.. _models.Select(m => (JsonNode?)m.ModelName)]),
                ["key_policy"] = KeyPolicy.Describe(),
            };
            DescribeProxySwitches(state);
            return state;
        }
    }

    private static EmulatedKey ToEmulatedKey(KeyRow row) => new(
        row.Token,
        row.RawKey,
        row.KeyAlias,
        row.UserId,
        row.TeamId,
        row.Models,
        row.Row["metadata"] is JsonObject m ? (JsonObject)m.DeepClone() : [],
        row.IsBlocked,
        row.Expires,
        row.CreatedAt,
        row.Clone());
}
