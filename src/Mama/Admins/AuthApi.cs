using System.Security.Claims;
using Mama.Audit;
using Mama.Http;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.Admins;

public static class AuthApi
{
    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/auth").WithTags("Authentication");
        api.MapPost("/token", TokenAsync).AllowAnonymous().DisableAntiforgery().RequireRateLimiting(SignInRateLimit.Policy)
            .Accepts<TokenRequest>("application/json", "application/x-www-form-urlencoded")
            .WithSummary("Exchange a username and password for a bearer token");
        api.MapGet("/me", MeAsync).RequireAuthorization(Policies.Account).WithSummary("The signed-in admin");
        api.MapPost("/password", ChangePasswordAsync).RequireAuthorization(Policies.Account).RequireRateLimiting(SignInRateLimit.Policy).WithSummary("Change your own password; earlier tokens stop working");
        return api;
    }

    private static async Task<Ok<TokenResponse>> TokenAsync(HttpContext http, AdminService admins, TokenService tokens, CancellationToken ct)
    {
        var request = await ReadTokenRequestAsync(http.Request, ct);
        var signedIn = await admins.AuthenticateAsync(request.Username, request.Password, Actor.From(http), ct);
        var (token, expiresIn) = tokens.Issue(signedIn.Account, signedIn.Role);
        return TypedResults.Ok(new TokenResponse(token, "Bearer", expiresIn, signedIn.Account.MustChangePassword));
    }

    private static async Task<Ok<MeResponse>> MeAsync(ClaimsPrincipal user, AdminService admins) =>
        TypedResults.Ok(await admins.GetMeAsync(user.Identity!.Name!));

    private static async Task<NoContent> ChangePasswordAsync(ChangePasswordRequest request, HttpContext http, AdminService admins, CancellationToken ct)
    {
        await admins.ChangeOwnPasswordAsync(http.User.Identity!.Name!, request.CurrentPassword, request.NewPassword, Actor.From(http), ct);
        return TypedResults.NoContent();
    }

    /// <summary>OAuth-style clients post a form; everyone else posts JSON. Both are accepted.</summary>
    private static async Task<TokenRequest> ReadTokenRequestAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            return new TokenRequest(form["username"].FirstOrDefault(), form["password"].FirstOrDefault());
        }
        if (!request.HasJsonContentType())
            throw new ProblemException(415, "Unsupported media type", "Send the credentials as application/json or application/x-www-form-urlencoded.");
        try
        {
            return await request.ReadFromJsonAsync<TokenRequest>(MamaJson.Options, ct)
                ?? throw ProblemException.BadRequest("The request body is empty.");
        }
        catch (InputGuard.NulInJsonException nul)
        {
            throw ProblemException.Validation(InputGuard.FieldOf(nul), nul.Message);
        }
        catch (System.Text.Json.JsonException)
        {
            throw ProblemException.BadRequest("The request body is not valid JSON.");
        }
    }
}
