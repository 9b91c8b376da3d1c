using System.Security.Claims;
using Mama.Admins;
using Mama.Security;
using Mama.Sessions;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Mama.Components;

public sealed class UiOptions
{
    /// <summary>How often an open page re-checks that its session is still valid, so an idle page goes to sign-in soon after it ended.</summary>
    public TimeSpan SessionCheckInterval { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A UI session without requests or actions for this long ends.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A UI session ends this long after sign-in, however active.</summary>
    public TimeSpan AbsoluteLifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>
/// A Blazor circuit outlives the request that opened it; this re-checks its UI session and the account's security
/// stamp so that a sign-out elsewhere, a password change, reset, deletion or expiry ends open pages too, which then
/// land on the login page. Checking is not activity: an idle open page still times out.
/// </summary>
public sealed class SessionRevalidation(
    ILoggerFactory loggerFactory,
    IServiceScopeFactory scopes,
    SessionService sessions,
    IOptions<IdentityOptions> identity,
    IOptions<UiOptions> options) : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<SessionRevalidation>();

    protected override TimeSpan RevalidationInterval => options.Value.SessionCheckInterval;

    /// <summary>Why this circuit's session ended (<see cref="SessionEndReasons"/>), once it has.</summary>
    public string? EndReason { get; private set; }

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken ct)
    {
        try
        {
            EndReason = await sessions.EndReasonAsync(SessionService.IdOf(state.User), activity: false, ct);
            if (EndReason is not null) return false;
            if (await StampIsCurrentAsync(state)) return true;
            EndReason = SessionEndReasons.Ended;
            return false;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // A database blip must not sign out every open page (the base class would): each action still checks the session.
            _logger.LogWarning(e, "The open page's session could not be checked; checking again later.");
            return true;
        }
    }

    private async Task<bool> StampIsCurrentAsync(AuthenticationState state)
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
