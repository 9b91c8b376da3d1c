using System.Globalization;
using System.Text;
using Mama.Admins;
using Mama.Http;
using Mama.Security;
using Mama.Sessions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;
using MudBlazor;
using MudBlazor.Services;

namespace Mama.Components;

public static class UiSetup
{
    public static readonly string[] Cultures = ["en", "ko"];

    public static IServiceCollection AddMamaUi(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, SessionRevalidation>();
        services.AddScoped<IUserClaimsPrincipalFactory<AdminAccount>, AdminClaimsFactory>();
        services.AddScoped<UiSession>();
        services.AddScoped<Shared.BrowserTimeZone>();
        services.AddOptions<UiOptions>().BindConfiguration("Mama:Ui")
            .Validate(o => o.IdleTimeout > TimeSpan.Zero && o.AbsoluteLifetime > TimeSpan.Zero && o.SessionCheckInterval > TimeSpan.Zero,
                "Mama:Ui:IdleTimeout, Mama:Ui:AbsoluteLifetime and Mama:Ui:SessionCheckInterval must be positive durations (hh:mm:ss).")
            .ValidateOnStart();
        services.AddLocalization();
        services.AddMudServices(o =>
        {
            o.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
            o.SnackbarConfiguration.VisibleStateDuration = 6000;
        });
        return services.AddMudTexts();
    }

    /// <summary>MudBlazor's built-in texts in the page's language (see <see cref="MudTexts"/>).</summary>
    public static IServiceCollection AddMudTexts(this IServiceCollection services) => services.AddTransient<MudLocalizer, MudTexts>();

    /// <summary>English by default; Korean from the browser's Accept-Language or the app bar's switch (a cookie).</summary>
    public static IApplicationBuilder UseMamaLocalization(this IApplicationBuilder app) =>
        app.UseRequestLocalization(o => o.SetDefaultCulture(Cultures[0]).AddSupportedCultures(Cultures).AddSupportedUICultures(Cultures));

    public static void MapMamaUi(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

        app.MapPost("/logout", async (HttpContext http, IAntiforgery antiforgery, SignInManager<AdminAccount> signIn, SessionService sessions) =>
        {
            // Another site's form must not be able to sign an admin out: the token comes from mama's own page.
            if (!await antiforgery.IsRequestValidAsync(http))
                throw ProblemException.BadRequest("The sign-out form is missing its antiforgery token; reload the page and sign out again.");
            // Exactly this browser's session: the same admin stays signed in elsewhere.
            await sessions.EndAsync(SessionService.IdOf(http.User), SessionEndReasons.SignedOut, http.RequestAborted);
            await signIn.SignOutAsync();
            return Results.Redirect("/login");
        }).RequireAuthorization(Policies.Account);
        app.MapGet("/culture/{culture}", (string culture, string? returnUrl, HttpContext http) =>
        {
            if (!Cultures.Contains(culture)) return Results.BadRequest();
            http.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                new CookieOptions { MaxAge = TimeSpan.FromDays(365), SameSite = SameSiteMode.Lax, HttpOnly = true, IsEssential = true });
            return Results.LocalRedirect(LocalPath(returnUrl));
        }).AllowAnonymous();
    }

    /// <summary>
    /// A return address that stays on this site, ready for a Location header: characters outside printable ASCII
    /// are UTF-8 percent-encoded (a raw one would make the redirect throw). Anything that could leave the site or
    /// hide what it is (another host, a scheme, a backslash, a control or invisible character) becomes the home page.
    /// </summary>
    public static string LocalPath(string? url)
    {
        if (string.IsNullOrEmpty(url) || url[0] != '/' || url.StartsWith("//", StringComparison.Ordinal)
            || url.Contains('\\') || TextRules.HasHiddenOrBroken(url)) return "/";
        var local = new StringBuilder(url.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in url.EnumerateRunes())
        {
            if (rune.Value is > ' ' and < 0x7f)
            {
                local.Append((char)rune.Value);
                continue;
            }
            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length]) local.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return local.ToString();
    }
}
