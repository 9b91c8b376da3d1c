using Mama.Admins;
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
        return services;
    }

    /// <summary>English by default; Korean from the browser's Accept-Language or the app bar's switch (a cookie).</summary>
    public static IApplicationBuilder UseMamaLocalization(this IApplicationBuilder app) =>
        app.UseRequestLocalization(o => o.SetDefaultCulture(Cultures[0]).AddSupportedCultures(Cultures).AddSupportedUICultures(Cultures));

    public static void MapMamaUi(this WebApplication app)
    {
        app.MapStaticAssets().AllowAnonymous();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

        app.MapPost("/logout", async (HttpContext http, SignInManager<AdminAccount> signIn, SessionService sessions) =>
        {
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

    /// <summary>A return address that stays on this site: anything else becomes the home page.</summary>
    public static string LocalPath(string? url) =>
        string.IsNullOrEmpty(url) || !url.StartsWith('/') || url.StartsWith("//") || url.StartsWith("/\\") ? "/" : url;
}
