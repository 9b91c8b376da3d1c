using System.Security.Claims;
using Mama.Admins;
using Mama.Security;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Mama.Components;

public sealed class UiOptions
{
    /// <summary>How often an open page re-checks that its session is still valid (password changed, account deleted).</summary>
    public TimeSpan SessionCheckInterval { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// A Blazor circuit outlives the request that opened it; this re-checks the account's security stamp so that a
/// password change, reset or deletion ends open pages too, which then land on the login page.
/// </summary>
public sealed class SessionRevalidation(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopes,
    IOptions<IdentityOptions> identity,
    IOptions<UiOptions> options) : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => options.Value.SessionCheckInterval;

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var accounts = scope.ServiceProvider.GetRequiredService<UserManager<AdminAccount>>();
        var account = await accounts.GetUserAsync(state.User);
        return account is not null
            && state.User.FindFirstValue(identity.Value.ClaimsIdentity.SecurityStampClaimType) == await accounts.GetSecurityStampAsync(account);
    }
}

/// <summary>Adds the must-change-password flag to the cookie, so every page can send the admin to change it first.</summary>
public sealed class AdminClaimsFactory(UserManager<AdminAccount> accounts, RoleManager<IdentityRole> roles, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<AdminAccount, IdentityRole>(accounts, roles, options)
{
    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(AdminAccount account)
    {
        var identity = await base.GenerateClaimsAsync(account);
        if (account.MustChangePassword) identity.AddClaim(new Claim(PasswordChanged.MustChangeClaim, "true"));
        return identity;
    }
}
