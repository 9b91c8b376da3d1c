using Mama.Admins;
using Microsoft.AspNetCore.Authorization;

namespace Mama.Security;

public static class Policies
{
    public const string Admin = "Admin";
    public const string SuperAdmin = "SuperAdmin";

    public static AuthorizationBuilder AddMamaPolicies(this AuthorizationBuilder auth) => auth
        // Deny by default: an endpoint without its own policy still needs a signed-in admin.
        .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireRole(Roles.All).Build())
        .AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(Roles.All))
        .AddPolicy(SuperAdmin, p => p.RequireAuthenticatedUser().RequireRole(Roles.SuperAdmin))
        .AddPolicy(ApiClients.ApiClientAuthentication.Policy, p => p.AddAuthenticationSchemes(ApiClients.ApiClientAuthentication.SchemeName).RequireAuthenticatedUser());
}
