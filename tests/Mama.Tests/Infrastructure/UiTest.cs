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
        Services.AddSingleton(app.Service<UserService>());
        Services.AddSingleton(app.Service<AdminActions>());
        Services.AddSingleton(app.Service<ApiClientService>());
        Services.AddSingleton(app.Service<AuditQueries>());
        Services.AddSingleton(app.Service<ModelCatalog>());
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
