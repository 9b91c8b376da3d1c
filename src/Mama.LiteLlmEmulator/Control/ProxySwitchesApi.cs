using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Control;

public sealed record VersionRequest(string Version);
public sealed record KeyAliasPatternRequest(string? Pattern);
public sealed record ModelListExtrasRequest(IReadOnlyList<string> Entries);
public sealed record AccessGroupsRequest(IReadOnlyDictionary<string, IReadOnlyList<string>> Groups);
public sealed record ModelInfoRequest(bool Available);

/// <summary>The control routes of <see cref="EmulatorControl"/>'s proxy switches (version, alias rules, model catalog); each answers the state.</summary>
internal static class ProxySwitchesApi
{
    public static RouteGroupBuilder MapProxySwitches(this RouteGroupBuilder api)
    {
        api.MapMethods("/version", ControlApi.Write, (VersionRequest request, EmulatorControl emulator) =>
            ControlApi.Apply(emulator, () => emulator.Version = request.Version));
        api.MapMethods("/key-alias-pattern", ControlApi.Write, (KeyAliasPatternRequest request, EmulatorControl emulator) =>
            ControlApi.Apply(emulator, () => emulator.KeyAliasPattern = request.Pattern));
        api.MapMethods("/model-list-extras", ControlApi.Write, (ModelListExtrasRequest request, EmulatorControl emulator) =>
            ControlApi.Apply(emulator, () => emulator.ModelListExtras = request.Entries));
        api.MapMethods("/access-groups", ControlApi.Write, (AccessGroupsRequest request, EmulatorControl emulator) =>
            ControlApi.Apply(emulator, () => emulator.AccessGroups = request.Groups));
        api.MapMethods("/model-info", ControlApi.Write, (ModelInfoRequest request, EmulatorControl emulator) =>
            ControlApi.Apply(emulator, () => emulator.ModelInfoAvailable = request.Available));
        return api;
    }
}
