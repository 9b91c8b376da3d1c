using Microsoft.AspNetCore.Components;

namespace Mama.Components;

public static class NavigationExtensions
{
    /// <summary>Where the admin is now, as a local path (with its query) to come back to.</summary>
    public static string CurrentPath(this NavigationManager navigation) => "/" + navigation.ToBaseRelativePath(navigation.Uri);

    /// <summary>
    /// A full page load of <paramref name="page"/> (sign-in, password change) that returns here afterwards;
    /// full, so the cookie middleware sees the request and the page can set a new cookie.
    /// </summary>
    public static void GoAndReturn(this NavigationManager navigation, string page) =>
        navigation.NavigateTo($"{page}?returnUrl={Uri.EscapeDataString(navigation.CurrentPath())}", forceLoad: true);
}
