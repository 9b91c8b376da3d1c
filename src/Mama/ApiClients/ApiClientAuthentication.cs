using System.Security.Claims;
using System.Text.Encodings.Web;
using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mama.ApiClients;

/// <summary>
/// Authenticates other systems by their API client token, from <c>X-API-Key</c> or <c>Authorization: Bearer</c>
/// (on the users endpoints only from <c>X-API-Key</c>, see <see cref="Security.AuthenticationSetup.SchemeFor"/>).
/// Only API client tokens count: an admin's bearer token is not one.
/// </summary>
public sealed class ApiClientAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiClientService clients)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiClient";
    public const string Policy = "ApiClient";
    /// <summary>The client's scope (<c>service</c>, <c>all</c>, <c>manage</c>) on its identity, for policies.</summary>
    public const string ScopeClaim = "api_client_scope";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = Request.Headers["X-API-Key"].FirstOrDefault();
        if (string.IsNullOrEmpty(token) && Request.Headers.Authorization.FirstOrDefault() is { } authorization
            && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            token = authorization["Bearer ".Length..].Trim();
        if (string.IsNullOrEmpty(token)) return AuthenticateResult.NoResult();
        if (token.Length > 200) return AuthenticateResult.Fail("Invalid API token.");

        var caller = await clients.AuthenticateAsync(token, Context.RequestAborted);
        if (caller is null) return AuthenticateResult.Fail("Invalid API token.");
        Context.Features.Set(caller);
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, Actor.ApiClientPrefix + caller.Name), new Claim(ScopeClaim, ApiClientService.ScopeName(caller.Scope))], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "ApiKey";
        throw ProblemException.Unauthorized("A valid API client token is required in X-API-Key or Authorization: Bearer.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        throw ProblemException.Forbidden("This API client may not use this endpoint.");
}
