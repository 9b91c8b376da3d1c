using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;

namespace Mama.Sessions;

/// <summary>The auth cookie's side of UI sessions: each request checks the session it carries, and says why it ended.</summary>
public static class SessionCookie
{
    private const string EndedItem = "mama.session-ended";

    /// <summary>The cookie outlives the session's absolute lifetime by this much, so the record ends it and can say why.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    public static void Configure(CookieAuthenticationOptions options)
    {
        var redirectToLogin = options.Events.OnRedirectToLogin;
        options.Events.OnValidatePrincipal = ValidateAsync;
        options.Events.OnRedirectToLogin = context =>
        {
            if (EndReasonOf(context.HttpContext) is { } reason)
                context.RedirectUri = QueryHelpers.AddQueryString(context.RedirectUri, "reason", reason);
            return redirectToLogin(context);
        };
    }

    /// <summary>Why this request's session ended, if its cookie was refused for that.</summary>
    public static string? EndReasonOf(HttpContext http) => http.Items[EndedItem] as string;

    /// <summary>Identity rebuilds the principal on each request; the session id must survive that.</summary>
    public static Task KeepSessionId(SecurityStampRefreshingPrincipalContext context)
    {
        if (context.CurrentPrincipal?.FindFirst(SessionService.Claim) is { } session && context.NewPrincipal?.Identity is ClaimsIdentity identity)
            identity.AddClaim(new Claim(session.Type, session.Value));
        return Task.CompletedTask;
    }

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var sessions = context.HttpContext.RequestServices.GetRequiredService<SessionService>();
        var reason = await sessions.EndReasonAsync(SessionService.IdOf(context.Principal!), activity: true, context.HttpContext.RequestAborted);
        if (reason is not null)
        {
            context.HttpContext.Items[EndedItem] = reason;
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
            return;
        }
        await SecurityStampValidator.ValidatePrincipalAsync(context);
    }
}
