using Mama.Audit;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Mama.Security;

/// <summary>A signed-in caller refused by a policy is a refusal worth auditing: it is written before the 403 goes out.</summary>
public sealed class AuditedAuthorizationResultHandler(AuditLog audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (result.Forbidden && http.User.Identity?.IsAuthenticated == true)
            await audit.WriteAsync(new AuditEntry(Actor.From(http), "access.denied", AuditResult.Denied, 403,
                Detail: new { method = http.Request.Method, path = http.Request.Path.Value }, Reason: "missing role"), http.RequestAborted);
        await _default.HandleAsync(next, http, policy, result);
    }
}
