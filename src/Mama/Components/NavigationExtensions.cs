using Microsoft.AspNetCore.Components;

namespace Mama.Components;

public static class NavigationExtensions
{
    /// <summary>Where the admin is now, as a local path (with its query) to come back to.</summary>
    public static string CurrentPath(this NavigationManager navigation) => "/" + navigation.ToBaseRelativePath(navigation.Uri);

    /// <summary>
    /// A full page load of <paramref name="page"/> (sign-in, password change) that returns here afterwards;
    /// full, so the cookie middleware sees the request and the page can set a new cookie. The sign-in page says
    /// why in words when given a <paramref name="reason"/> (one of <c>SessionEndReasons</c>).
    /// </summary>
    public static void GoAndReturn(this NavigationManager navigation, string page, string? reason = null) =>
        navigation.NavigateTo($"{page}?returnUrl={Uri.EscapeDataString(navigation.CurrentPath())}"
            + (reason is null ? "" : "&reason=" + Uri.EscapeDataString(reason)), forceLoad: true);
}
