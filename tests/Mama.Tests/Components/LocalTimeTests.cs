using System.Globalization;
using Bunit;
using Mama.Components.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Components;

/// <summary>Times show in the admin's browser zone, named on hover and to screen readers; in UTC, named so, until it is known.</summary>
public sealed class LocalTimeTests : BunitContext
{
    private static readonly DateTimeOffset At = new(2026, 11, 30, 23, 30, 0, TimeSpan.Zero);

    public LocalTimeTests()
    {
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo("en");
        Services.AddLocalization();
        Services.AddScoped<BrowserTimeZone>();
    }

    [Fact]
    public void ATimeIsShownInTheBrowsersZoneWhichItsTitleNames()
    {
        var asked = JSInterop.Setup<BrowserTimeZone.Reply?>("mama.timeZone").SetResult(new("Asia/Seoul", -540));

        var time = Render<LocalTime>(p => p.Add(t => t.At, At).Add(t => t.Format, "g"));

        time.WaitForAssertion(() => Assert.Equal("Time zone: Asia/Seoul (UTC+09:00)", time.Find("time").GetAttribute("title")));
        Assert.Equal("12/1/2026 8:30 AM (Asia/Seoul (UTC+09:00))", Normalised(time.Find("time").TextContent));
        Assert.Equal("2026-11-30T23:30:00Z", time.Find("time").GetAttribute("datetime"));
        Assert.Single(asked.Invocations);
    }

    [Fact]
    public void AZoneTheServerDoesNotKnowFallsBackToTheBrowsersOffset()
    {
        JSInterop.Setup<BrowserTimeZone.Reply?>("mama.timeZone").SetResult(new("Nowhere/Unknown", -330));

        var time = Render<LocalTime>(p => p.Add(t => t.At, At));

        time.WaitForAssertion(() => Assert.Equal("Time zone: UTC+05:30", time.Find("time").GetAttribute("title")));
        Assert.StartsWith("12/1/2026 5:00 AM", Normalised(time.Find("time").TextContent));
    }

    [Fact]
    public void ABrowserOnUtcIsNamedUtcOnce()
    {
        JSInterop.Setup<BrowserTimeZone.Reply?>("mama.timeZone").SetResult(new("Etc/UTC", 0));

        var time = Render<LocalTime>(p => p.Add(t => t.At, At));

        time.WaitForAssertion(() => Assert.Equal("11/30/2026 11:30 PM (UTC)", Normalised(time.Find("time").TextContent)));
        Assert.Equal("Time zone: UTC", time.Find("time").GetAttribute("title"));
    }

    [Fact]
    public void BeforeTheBrowserHasAnsweredATimeIsShownInUtcAndNamedSo()
    {
        JSInterop.Setup<BrowserTimeZone.Reply?>("mama.timeZone"); // never answers

        var time = Render<LocalTime>(p => p.Add(t => t.At, At).Add(t => t.Format, "g"));

        Assert.Equal("Time zone: UTC", time.Find("time").GetAttribute("title"));
        Assert.Equal("11/30/2026 11:30 PM (UTC)", Normalised(time.Find("time").TextContent));
    }

    [Fact]
    public void InASentenceTheTimeIsGivenToTheTextAndTheZoneIsNamedOnHover()
    {
        JSInterop.Setup<BrowserTimeZone.Reply?>("mama.timeZone").SetResult(new("Asia/Seoul", -540));

        var time = Render<LocalTime>(p => p.Add(t => t.At, At).Add(t => t.ChildContent, text => $"until {text}"));

        time.WaitForAssertion(() => Assert.Equal("until 12/1/2026 8:30 AM", Normalised(time.Find("time").TextContent)));
        Assert.Equal("Time zone: Asia/Seoul (UTC+09:00)", time.Find("time").GetAttribute("title"));
    }

    /// <summary>.NET's "g" puts a narrow no-break space before AM/PM on some ICU versions.</summary>
    private static string Normalised(string text) => text.Replace('\u202f', ' ').Trim();
}
