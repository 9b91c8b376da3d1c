using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Mama.Security;

/// <summary>
/// A signed-in caller refused by a policy is a refusal worth auditing: it is written before the 403 goes out.
/// A caller whose password must be changed first is told so (API) or sent to the change page (UI).
/// </summary>
public sealed class AuditedAuthorizationResultHandler(AuditLog audit) : IAuthorizationMiddlewareResultHandler
{
    public const string PasswordChangeRequired =
        "This account must change its password first. Until then it may only call GET /api/v1/auth/me and POST /api/v1/auth/password.";

    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Forbidden && http.User.Identity?.IsAuthenticated == true)
        {
            var mustChange = result.AuthorizationFailure?.FailedRequirements.OfType<PasswordChanged>().Any() == true;
            await audit.WriteAsync(new AuditEntry(Actor.From(http), "access.denied", AuditResult.Denied, 403,
                Detail: new { method = http.Request.Method, path = http.Request.Path.Value },
                Reason: mustChange ? "password change required" : "missing role"), http.RequestAborted);
            if (mustChange)
            {
                if (http.Request.Path.StartsWithSegments("/api")) throw ProblemException.Forbidden(PasswordChangeRequired);
                http.Response.Redirect("/account/password?returnUrl=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
                return;
            }
        }
        await _default.HandleAsync(next, http, policy, result);
    }
}
