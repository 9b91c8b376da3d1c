using System.Globalization;
using System.Security.Claims;
using Bunit;
using Bunit.TestDoubles;
using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Components;
using Mama.Data;
using Mama.LiteLlm;
using Mama.Sessions;
using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Mama.Tests.Infrastructure;

/// <summary>
/// A bUnit context whose pages run on the real services of a running mama (its database, the LiteLLM emulator):
/// the page logic is tested, not a mock of it. MudBlazor with no transitions; the providers are rendered once.
/// </summary>
public sealed class UiTest : BunitContext
{
    /// <param name="sessionId">The UI session the page runs in (one signed in through HTTP); a new one for <paramref name="username"/> if null.</param>
    public UiTest(MamaApp app, string username = "admin", string role = Roles.SuperAdmin, string culture = "en", string? sessionId = null)
        : this(app.Host, username, role, culture, sessionId)
    {
    }

    /// <summary>Pages on one particular host of the app (a second instance with its own settings, say).</summary>
    public UiTest(MamaHost host, string username = "admin", string role = Roles.SuperAdmin, string culture = "en", string? sessionId = null)
    {
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices(o =>
        {
            o.SnackbarConfiguration.ShowTransitionDuration = 0;
            o.SnackbarConfiguration.HideTransitionDuration = 0;
            o.PopoverOptions.CheckForPopoverProvider = false;
        });
        Services.AddLocalization();
        Services.AddMudTexts();
        Services.AddSingleton(host.Services.GetRequiredService<UserService>());
        Services.AddSingleton(host.Services.GetRequiredService<AdminActions>());
        Services.AddSingleton(host.Services.GetRequiredService<ApiClientService>());
        Services.AddSingleton(host.Services.GetRequiredService<Mama.Webhooks.WebhookService>());
        Services.AddSingleton(host.Services.GetRequiredService<AuditQueries>());
        Services.AddSingleton(host.Services.GetRequiredService<AuditVerification>());
        Services.AddSingleton(host.Services.GetRequiredService<AuditCheckpoints>());
        Services.AddSingleton(host.Services.GetRequiredService<ModelCatalog>());
        Services.AddSingleton(host.Services.GetRequiredService<ProxyStatus>());
        Services.AddSingleton(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LiteLlmOptions>>());
        Services.AddSingleton(host.Services.GetRequiredService<SessionService>());
        Services.AddSingleton(host.Services.GetRequiredService<Mama.Rotation.RotationService>());
        Services.AddSingleton(host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Mama.Rotation.RotationOptions>>());
        Services.AddScoped<UiSession>();
        Services.AddScoped<Mama.Components.Shared.BrowserTimeZone>();
        SessionId = sessionId ?? StartSession(host, username);
        Auth = AddAuthorization();
        Auth.SetAuthorized(username);
        Auth.SetRoles(role);
        Auth.SetClaims(new Claim(SessionService.Claim, SessionId));
        Providers = Render(builder =>
        {
            builder.OpenComponent<MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<MudDialogProvider>(1);
            builder.CloseComponent();
            builder.OpenComponent<MudSnackbarProvider>(2);
            builder.CloseComponent();
        });
    }

    public BunitAuthorizationContext Auth { get; }

    /// <summary>The UI session whose id the page's user carries, as the auth cookie would.</summary>
    public string SessionId { get; }

    /// <summary>Where dialogs, menus and snackbars render.</summary>
    public IRenderedComponent<IComponent> Providers { get; }

    private static string StartSession(MamaHost host, string username)
    {
        using var db = host.Services.GetRequiredService<IDbContextFactory<MamaDbContext>>().CreateDbContext();
        var accountId = db.Users.Where(a => a.UserName == username).Select(a => a.Id).FirstOrDefault() ?? username;
        return host.Services.GetRequiredService<SessionService>().StartAsync(accountId).GetAwaiter().GetResult();
    }
}

public static class UiTestExtensions
{
    /// <summary>
    /// Runs a UI action, finding its element afresh when a server-data load re-rendered the markup in between
    /// (bUnit then reports the old element's handler as unknown). Waits on renders, not on the clock.
    /// </summary>
    public static void Act<T>(this IRenderedComponent<T> component, Action action) where T : IComponent
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // On the renderer's context, so nothing re-renders between finding the element and dispatching to it.
                component.InvokeAsync(action).GetAwaiter().GetResult();
                return;
            }
            catch (Bunit.Rendering.UnknownEventHandlerIdException) when (attempt < 20)
            {
                // The markup changed under the element: wait for the render in flight (if any), then find it again.
                var renders = component.RenderCount;
                try { component.WaitForState(() => component.RenderCount > renders, TimeSpan.FromMilliseconds(200)); }
                catch (Bunit.Extensions.WaitForHelpers.WaitForFailedException) { }
            }
        }
    }
}
