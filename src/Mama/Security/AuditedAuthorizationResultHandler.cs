using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Identity;

namespace Mama.Security;

/// <summary>
/// Refusals are worth auditing, and are written before the answer goes out: a signed-in caller refused by a policy
/// (403), and an API caller without valid credentials (401, throttled by <see cref="UnauthenticatedAudit"/>).
/// The UI's redirect to the sign-in page is not a refusal. A caller whose password must be changed first is told so
/// (API) or sent to the change page (UI).
/// </summary>
public sealed class AuditedAuthorizationResultHandler(AuditLog audit, UnauthenticatedAudit unauthenticated) : IAuthorizationMiddlewareResultHandler
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
        else if (result.Challenged && AuthenticationSetup.SchemeFor(http.Request) is { } scheme && scheme != IdentityConstants.ApplicationScheme)
        {
            var given = http.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { None: false, Succeeded: false };
            await unauthenticated.RecordAsync(http, scheme == JwtBearerDefaults.AuthenticationScheme ? "bearer" : "api_key", given);
        }
        await _default.HandleAsync(next, http, policy, result);
    }
}
