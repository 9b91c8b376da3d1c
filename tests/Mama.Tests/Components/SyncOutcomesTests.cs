using System.Globalization;
using Bunit;
using Mama.Components;
using Mama.Components.Pages.Users;
using Mama.LiteLlm;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Mama.Tests.Components;

/// <summary>The outcome of a batch: only the counts that are not zero, colour only for what went wrong, retired models red.</summary>
public sealed class SyncOutcomesTests : BunitContext
{
    public SyncOutcomesTests()
    {
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo("en");
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices(o => o.PopoverOptions.CheckForPopoverProvider = false);
        Services.AddLocalization();
        Services.AddMudTexts();
    }

    [Fact]
    public void WhenNothingFailedOnlyTheNonZeroCountsShowAndNoneIsColoured()
    {
        var outcomes = Render<SyncOutcomes>(p => p.Add(o => o.Outcomes, [new("a", SyncOutcome.Synced), new("b", SyncOutcome.Synced), new("c", SyncOutcome.Pending)]));

        Assert.Equal(["2 synced", "1 pending"], Chips(outcomes).Select(c => c.TextContent.Trim()));
        Assert.DoesNotContain(outcomes.FindAll(".mud-chip, .mud-typography"), e => Coloured(e.ClassName));
    }

    [Fact]
    public void FailuresAreCountedInTheErrorColourAndOnlyThey()
    {
        var outcomes = Render<SyncOutcomes>(p => p.Add(o => o.Outcomes, [new("a", SyncOutcome.Synced), new("b", SyncOutcome.Failed, "proxy down")]));

        var chips = Chips(outcomes);
        Assert.Equal(["1 synced", "1 failed"], chips.Select(c => c.TextContent.Trim()));
        Assert.Contains("mud-chip-color-error", chips[1].ClassName);
        Assert.False(Coloured(chips[0].ClassName));
    }

    [Fact]
    public void AModelTheProxyNoLongerServesIsRedInTheOutcomeAndAServedOneIsNot()
    {
        var outcomes = Render<SyncOutcomes>(p => p
            .Add(o => o.Outcomes, [new("a", SyncOutcome.Synced)])
            .Add(o => o.Models, new Dictionary<string, IReadOnlyList<string>> { ["a"] = ["gpt-4o", "gpt-3-retired"] })
            .Add(o => o.Served, new HashSet<string> { "gpt-4o" }));

        Assert.Equal("true", outcomes.Find("[data-testid=outcome-models] [data-model=gpt-3-retired]").GetAttribute("data-unavailable"));
        Assert.Null(outcomes.Find("[data-testid=outcome-models] [data-model=gpt-4o]").GetAttribute("data-unavailable"));
    }

    [Fact]
    public void OnAKoreanPageTheDetailSaysMamasWordsInKoreanAndKeepsTheProxysAndUnknownTextAsTheyCame()
    {
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo("ko");
        var outcomes = Render<SyncOutcomes>(p => p.Add(o => o.Outcomes,
            [new("a", SyncOutcome.Failed, "LiteLLM refused to update key: 422 budget exceeded"), new("b", SyncOutcome.Pending, "proxy down")]));

        Assert.Equal(["LiteLLM이 키 수정 요청을 거부했습니다 (422). 프록시의 응답: \"budget exceeded\"", "proxy down"],
            outcomes.FindAll("tbody tr td:last-child").Select(td => td.TextContent.Trim()));
    }

    private static List<AngleSharp.Dom.IElement> Chips(IRenderedComponent<SyncOutcomes> outcomes) => outcomes.FindAll("[data-state]").ToList();

    private static bool Coloured(string? classes) =>
        (classes ?? "").Split(' ').Any(c => c is "mud-chip-color-success" or "mud-chip-color-error" or "mud-chip-color-warning"
            or "mud-success-text" or "mud-error-text" or "mud-warning-text");
}
