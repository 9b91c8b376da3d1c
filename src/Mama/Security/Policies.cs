using Mama.Admins;
using Microsoft.AspNetCore.Authorization;

namespace Mama.Security;

public static class Policies
{
    public const string Admin = "Admin";
    public const string SuperAdmin = "SuperAdmin";
    /// <summary>Any signed-in admin, also one that must change its password first: only for reading who you are, changing the password and signing out.</summary>
    public const string Account = "Account";
    /// <summary>The users endpoints: an admin (as <see cref="Admin"/>) or an API client with scope <c>manage</c>.</summary>
    public const string UsersApi = "UsersApi";

    public static AuthorizationBuilder AddMamaPolicies(this AuthorizationBuilder auth) => auth
        // Deny by default: an endpoint without its own policy still needs a signed-in admin whose password is its own,
        // or, on the lookup paths (where the default scheme reads only API client tokens), an API client. Routing's own
        // endpoints (415 for a body that is not JSON, 405) carry no policy, so without that an API client would get a
        // 403 for a bad request.
        .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser()
            .RequireAssertion(c => Roles.All.Any(c.User.IsInRole) || c.User.Identity?.AuthenticationType == ApiClients.ApiClientAuthentication.SchemeName)
            .AddRequirements(PasswordChanged.Requirement).Build())
        .AddPolicy(Admin, AdminWith(Roles.All).Build())
        // PasswordChanged passes for API clients: they have no password, so no must-change claim.
        .AddPolicy(UsersApi, p => p.RequireAuthenticatedUser()
            .RequireAssertion(c => Roles.All.Any(c.User.IsInRole) || IsManagingApiClient(c.User))
            .AddRequirements(PasswordChanged.Requirement))
        .AddPolicy(SuperAdmin, AdminWith(Roles.SuperAdmin).Build())
        .AddPolicy(Account, p => p.RequireAuthenticatedUser().RequireRole(Roles.All))
        .AddPolicy(ApiClients.ApiClientAuthentication.Policy, p => p.AddAuthenticationSchemes(ApiClients.ApiClientAuthentication.SchemeName).RequireAuthenticatedUser());

    private static bool IsManagingApiClient(System.Security.Claims.ClaimsPrincipal user) =>
        user.Identity?.AuthenticationType == ApiClients.ApiClientAuthentication.SchemeName && user.HasClaim(ApiClients.ApiClientAuthentication.ScopeClaim, "manage");

    private static AuthorizationPolicyBuilder AdminWith(params string[] roles) =>
        new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireRole(roles).AddRequirements(PasswordChanged.Requirement);
}

/// <summary>
/// A password set by someone else (the bootstrap default, an environment variable, a printed one-time password or a
/// reset) is good for one thing only: changing it. The claim is set from the account at every request.
/// </summary>
public sealed class PasswordChanged : AuthorizationHandler<PasswordChanged>, IAuthorizationRequirement
{
    public const string MustChangeClaim = "must_change_password";
    public static readonly PasswordChanged Requirement = new();

    public static bool IsRequired(System.Security.Claims.ClaimsPrincipal user) => user.HasClaim(MustChangeClaim, "true");

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, PasswordChanged requirement)
    {
        if (!IsRequired(context.User)) context.Succeed(requirement);
        return Task.CompletedTask;
    }
}
