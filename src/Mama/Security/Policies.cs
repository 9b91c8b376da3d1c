using Mama.Admins;
using Microsoft.AspNetCore.Authorization;

namespace Mama.Security;

public static class Policies
{
    public const string Admin = "Admin";
    public const string SuperAdmin = "SuperAdmin";

    public static AuthorizationBuilder AddMamaPolicies(this AuthorizationBuilder auth) => auth
        // Deny by default: an endpoint without its own policy still needs a signed-in admin, or, on the lookup paths
        // (where the default scheme reads only API client tokens), an API client. Routing's own endpoints (415 for a
        // body that is not JSON, 405) carry no policy, so without that an API client would get a 403 for a bad request.
        .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser()
            .RequireAssertion(c => Roles.All.Any(c.User.IsInRole) || c.User.Identity?.AuthenticationType == ApiClients.ApiClientAuthentication.SchemeName).Build())
        .AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(Roles.All))
        .AddPolicy(SuperAdmin, p => p.RequireAuthenticatedUser().RequireRole(Roles.SuperAdmin))
        .AddPolicy(ApiClients.ApiClientAuthentication.Policy, p => p.AddAuthenticationSchemes(ApiClients.ApiClientAuthentication.SchemeName).RequireAuthenticatedUser());
}
