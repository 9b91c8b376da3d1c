using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Control;

public sealed record LatencyRequest(double Ms, string? Route = null);
public sealed record ErrorRateRequest(double Rate, string? Route = null);
public sealed record DownRequest(bool Down);
public sealed record ModelsRequest(IReadOnlyList<string> Models);
public sealed record DuplicateKeyModeRequest(string Mode);
public sealed record DeleteModeRequest(bool Legacy);
public sealed record ContentLengthRequest(bool Require);
public sealed record NoDbRequest(bool Down);
public sealed record RefusalRequest(string Route, int? Status, string? Message = null);
public sealed record CustomKeysRequest(bool? Disabled = null, int? MinimumLength = null);
public sealed record GenerateStallRequest(bool Stall);

/// <summary>
/// Test-only knobs under /_emulator. Unauthenticated on purpose: the emulator listens on 127.0.0.1 only,
/// and these routes must keep working while the proxy routes are "down" or failing.
/// </summary>
internal static class ControlApi
{
    public const string Prefix = "/_emulator";

    internal static readonly string[] Write = ["PUT", "POST"];

    public static IEndpointRouteBuilder MapControlApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Prefix);
        api.MapGet("/state", State);
        api.MapMethods("/latency", Write, (LatencyRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.SetLatency(TimeSpan.FromMilliseconds(request.Ms), request.Route)));
        api.MapMethods("/error-rate", Write, (ErrorRateRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.SetErrorRate(request.Rate, request.Route)));
        api.MapMethods("/down", Write, (DownRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.SetDown(request.Down)));
        api.MapMethods("/models", Write, (ModelsRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.SetModels(request.Models)));
        api.MapMethods("/duplicate-key-mode", Write, (DuplicateKeyModeRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.DuplicateKeyMode = Enum.Parse<DuplicateKeyMode>(request.Mode, ignoreCase: true)));
        api.MapMethods("/delete-mode", Write, (DeleteModeRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.LegacyDeleteErrors = request.Legacy));
        api.MapMethods("/require-content-length", Write, (ContentLengthRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.RequireContentLength = request.Require));
        api.MapMethods("/no-db", Write, (NoDbRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.NoDb = request.Down));
        api.MapMethods("/refusal", Write, (RefusalRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.SetRefusal(request.Route, request.Status, request.Message)));
        api.MapProxySwitches();
        api.MapMethods("/custom-keys", Write, (CustomKeysRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => CustomKeys(emulator.KeyPolicy, request)));
        api.MapMethods("/generate-stall", Write, (GenerateStallRequest request, EmulatorControl emulator) =>
            Apply(emulator, () => emulator.KeyPolicy.StallGenerateAfterStore = request.Stall));
        api.MapPost("/reset", (EmulatorControl emulator) => Apply(emulator, emulator.Reset));
        api.MapGet("/keys", Keys);
        api.MapGet("/calls", (EmulatorControl emulator) => EmulatorJson.Result(emulator.Calls.Describe()));
        api.MapGet("/requests", (EmulatorControl emulator) => EmulatorJson.Result(emulator.Requests.Describe()));
        return app;
    }

    private static IResult State(EmulatorControl emulator) => EmulatorJson.Result(emulator.Describe());

    private static void CustomKeys(Mama.LiteLlmEmulator.Keys.KeyPolicy policy, CustomKeysRequest request)
    {
        if (request.MinimumLength is { } length) policy.MinimumCustomKeyLength = length;
        if (request.Disabled is { } disabled) policy.CustomKeysDisabled = disabled;
    }

    /// <summary>Applies one switch and answers the state; a bad value (an <see cref="ArgumentException"/>) is a 400 that changes nothing.</summary>
    internal static IResult Apply(EmulatorControl emulator, Action change)
    {
        try
        {
            change();
        }
        catch (Exception e) when (e is ArgumentException)
        {
            return EmulatorJson.Result(new JsonObject { ["detail"] = e.Message }, StatusCodes.Status400BadRequest);
        }
        return State(emulator);
    }

    /// <summary>Every stored row in full (with <c>token</c>) plus the raw key where the emulator saw it.</summary>
    private static IResult Keys(EmulatorControl emulator)
    {
        var keys = new JsonArray();
        foreach (var key in emulator.GetKeys())
        {
            var item = new JsonObject { ["key"] = key.Key };
            foreach (var (name, value) in key.Row)
            {
                item[name] = value?.DeepClone();
            }
            keys.Add(item);
        }
        return EmulatorJson.Result(new JsonObject { ["keys"] = keys });
    }
}
