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
    private static readonly string[] Write = ["PUT", "POST"];

    public static RouteGroupBuilder MapProxySwitches(this RouteGroupBuilder api)
    {
        api.MapMethods("/version", Write, (VersionRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.Version = request.Version));
        api.MapMethods("/key-alias-pattern", Write, (KeyAliasPatternRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.KeyAliasPattern = request.Pattern));
        api.MapMethods("/model-list-extras", Write, (ModelListExtrasRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.ModelListExtras = request.Entries));
        api.MapMethods("/access-groups", Write, (AccessGroupsRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.AccessGroups = request.Groups));
        api.MapMethods("/model-info", Write, (ModelInfoRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.ModelInfoAvailable = request.Available));
        return api;
    }

    private static IResult Apply(EmulatorControl emulator, Action change)
    {
        try
        {
            change();
        }
        catch (ArgumentException e)
        {
            return EmulatorJson.Result(new JsonObject { ["detail"] = e.Message }, StatusCodes.Status400BadRequest);
        }
        return EmulatorJson.Result(emulator.Describe());
    }
}
