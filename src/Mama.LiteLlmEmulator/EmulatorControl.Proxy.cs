using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Keys;

namespace Mama.LiteLlmEmulator;

/// <summary>Switches that make the emulator look like a particular proxy: its version, alias rules and model catalog.</summary>
public sealed partial class EmulatorControl
{
    public const string DefaultVersion = "1.80.0";

    private string _version = DefaultVersion;
    private string? _keyAliasPattern;
    private List<string> _modelListExtras = [];
    private Dictionary<string, List<string>> _accessGroups = new(StringComparer.Ordinal);
    private bool _modelInfoAvailable = true;

    /// <summary>What <c>/health/readiness</c> answers as <c>litellm_version</c>.</summary>
    public string Version
    {
        get { lock (_gate) { return _version; } }
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            lock (_gate) { _version = value; }
        }
    }

    /// <summary>LiteLLM's <c>litellm_settings.key_alias_pattern</c>; null = only the built-in rules. A pattern that does not compile is refused.</summary>
    public string? KeyAliasPattern
    {
        get { lock (_gate) { return _keyAliasPattern; } }
        set
        {
            if (value is not null)
            {
                _ = AliasRules.FullMatch(value); // "Invalid regex set for litellm_settings.key_alias_pattern" on a real proxy's start
            }
            lock (_gate) { _keyAliasPattern = value; }
        }
    }

    /// <summary>Names <c>/v1/models</c> lists besides the models, as newer proxies do: key and team aliases, access-group names, <c>no-default-models</c>.</summary>
    public IReadOnlyList<string> ModelListExtras
    {
        get { lock (_gate) { return [.. _modelListExtras]; } }
        set { lock (_gate) { _modelListExtras = [.. value]; } }
    }

    /// <summary>Access groups (name → model names): shown in each model's <c>model_info.access_groups</c>; a key may name a group in <c>models</c>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> AccessGroups
    {
        get { lock (_gate) { return _accessGroups.ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Value], StringComparer.Ordinal); } }
        set { lock (_gate) { _accessGroups = value.ToDictionary(g => g.Key, g => g.Value.ToList(), StringComparer.Ordinal); } }
    }

    /// <summary>When false, <c>/model/info</c>, <c>/v1/model/info</c> and <c>/v2/model/info</c> answer 404, like a proxy without them.</summary>
    public bool ModelInfoAvailable
    {
        get { lock (_gate) { return _modelInfoAvailable; } }
        set { lock (_gate) { _modelInfoAvailable = value; } }
    }

    /// <summary>The access groups a model belongs to.</summary>
    internal IReadOnlyList<string> GroupsOf(string model)
    {
        lock (_gate) { return [.. _accessGroups.Where(g => g.Value.Contains(model)).Select(g => g.Key).Order(StringComparer.Ordinal)]; }
    }

    // Called under _gate by Reset and Describe.
    private void ResetProxySwitches()
    {
        _version = DefaultVersion;
        _keyAliasPattern = null;
        _modelListExtras = [];
        _accessGroups = new(StringComparer.Ordinal);
        _modelInfoAvailable = true;
    }

    private void DescribeProxySwitches(JsonObject state)
    {
        state["version"] = _version;
        state["key_alias_pattern"] = _keyAliasPattern;
        state["model_list_extras"] = new JsonArray([.. _modelListExtras.Select(e => (JsonNode?)e)]);
        state["access_groups"] = new JsonObject(_accessGroups.Select(g => KeyValuePair.Create(g.Key, (JsonNode?)new JsonArray([.. g.Value.Select(m => (JsonNode?)m)]))));
        state["model_info_available"] = _modelInfoAvailable;
    }
}
