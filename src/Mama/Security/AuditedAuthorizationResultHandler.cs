using Mama.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Identity;

namespace Mama.Security;

/// <summary>
/// Refusals are worth auditing, and are written before the answer goes out: a signed-in caller refused by a policy
/// (403), and an API caller without valid credentials (401, throttled by <see cref="UnauthenticatedAudit"/>).
/// The UI's redirect to the sign-in page is not a refusal.
/// </summary>
public sealed class AuditedAuthorizationResultHandler(AuditLog audit, UnauthenticatedAudit unauthenticated) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Forbidden && http.User.Identity?.IsAuthenticated == true)
            await audit.WriteAsync(new AuditEntry(Actor.From(http), "access.denied", AuditResult.Denied, 403,
                Detail: new { method = http.Request.Method, path = http.Request.Path.Value }, Reason: "missing role"), http.RequestAborted);
        else if (result.Challenged && AuthenticationSetup.SchemeFor(http.Request) is { } scheme && scheme != IdentityConstants.ApplicationScheme)
        {
            var given = http.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { None: false, Succeeded: false };
            await unauthenticated.RecordAsync(http, scheme == JwtBearerDefaults.AuthenticationScheme ? "bearer" : "api_key", given);
        }
        await _default.HandleAsync(next, http, policy, result);
    }
}
