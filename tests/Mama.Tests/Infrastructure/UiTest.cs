using System.Globalization;
using Bunit;
using Bunit.TestDoubles;
using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Components;
using Mama.LiteLlm;
using Mama.Users;
using Microsoft.AspNetCore.Components;
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
    public UiTest(MamaApp app, string username = "admin", string role = Roles.SuperAdmin, string culture = "en")
        : this(app.Host, username, role, culture)
    {
    }

    /// <summary>Pages on one particular host of the app (a second instance with its own settings, say).</summary>
    public UiTest(MamaHost host, string username = "admin", string role = Roles.SuperAdmin, string culture = "en")
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
        Services.AddSingleton(host.Services.GetRequiredService<UserService>());
        Services.AddSingleton(host.Services.GetRequiredService<AdminActions>());
        Services.AddSingleton(host.Services.GetRequiredService<ApiClientService>());
        Services.AddSingleton(host.Services.GetRequiredService<AuditQueries>());
        Services.AddSingleton(host.Services.GetRequiredService<ModelCatalog>());
        Services.AddScoped<UiSession>();
        Auth = AddAuthorization();
        Auth.SetAuthorized(username);
        Auth.SetRoles(role);
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

    /// <summary>Where dialogs, menus and snackbars render.</summary>
    public IRenderedComponent<IComponent> Providers { get; }
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
