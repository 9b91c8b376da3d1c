using System.Net;
using Mama.Audit;
using Mama.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Identity;

namespace Mama.Admins;

/// <summary>A plain cookie sign-in page for the UI until the Blazor UI lands.</summary>
public static class LoginPage
{
    public static void MapLoginPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (HttpContext http, IAntiforgery antiforgery, string? returnUrl) =>
            Page(antiforgery.GetAndStoreTokens(http), returnUrl, error: null)).AllowAnonymous();
        app.MapPost("/login", SignInAsync).AllowAnonymous();
        app.MapPost("/logout", async (SignInManager<AdminAccount> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.Redirect("/login");
        });
        app.MapGet("/", (HttpContext http) => Results.Content(
            $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mama</title></head><body><main><h1>mama</h1><p>Signed in as {WebUtility.HtmlEncode(http.User.Identity?.Name)}.</p><p><a href=\"/docs\">API docs</a></p>"
            + $"<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"__RequestVerificationToken\" value=\"{WebUtility.HtmlEncode(http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http).RequestToken)}\"><button>Log out</button></form></main></body></html>",
            "text/html; charset=utf-8"));
    }

    private static async Task<IResult> SignInAsync(HttpContext http, AdminService admins, SignInManager<AdminAccount> signIn, IAntiforgery antiforgery)
    {
        var form = await http.Request.ReadFormAsync();
        var returnUrl = form["returnUrl"].FirstOrDefault();
        try
        {
            var admin = await admins.AuthenticateAsync(form["username"], form["password"], Actor.From(http));
            await signIn.SignInAsync(admin.Account, isPersistent: false);
            return Results.LocalRedirect(string.IsNullOrEmpty(returnUrl) || !returnUrl.StartsWith('/') || returnUrl.StartsWith("//") ? "/" : returnUrl);
        }
        catch (ProblemException problem)
        {
            return Page(antiforgery.GetAndStoreTokens(http), returnUrl, problem.Message, problem.Status);
        }
    }

    private static IResult Page(AntiforgeryTokenSet tokens, string? returnUrl, string? error, int status = 200) => Results.Content($$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Sign in · mama</title></head>
        <body><main>
        <h1>Sign in to mama</h1>
        {{(error is null ? "" : $"<p role=\"alert\">{WebUtility.HtmlEncode(error)}</p>")}}
        <form method="post" action="/login">
          <input type="hidden" name="{{tokens.FormFieldName}}" value="{{WebUtility.HtmlEncode(tokens.RequestToken)}}">
          <input type="hidden" name="returnUrl" value="{{WebUtility.HtmlEncode(returnUrl ?? "")}}">
          <p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
          <p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
          <p><button type="submit">Sign in</button></p>
        </form>
        </main></body></html>
        """, "text/html; charset=utf-8", statusCode: status);
}
