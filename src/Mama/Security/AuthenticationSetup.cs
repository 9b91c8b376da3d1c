using System.Security.Claims;
using Mama.Admins;
using Mama.ApiClients;
using Mama.Components;
using Mama.Data;
using Mama.Sessions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Mama.Security;

public static class AuthenticationSetup
{
    /// <summary>Chooses bearer tokens for the API and the Identity cookie for the UI.</summary>
    public const string Scheme = "mama";

    public static IServiceCollection AddMamaAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment env, string dataPath)
    {
        services.AddOptions<JwtOptions>().BindConfiguration("Mama:Jwt").ValidateOnStart();
        services.AddSingleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>();
        services.AddSingleton(sp => new SigningKey(JwtOptions.ResolveSigningKey(sp.GetRequiredService<IOptions<JwtOptions>>().Value.SigningKey, env, dataPath)));
        services.AddOptions<EncryptionOptions>().BindConfiguration("Mama").ValidateOnStart();
        services.AddSingleton<IValidateOptions<EncryptionOptions>, EncryptionOptionsValidator>();
        services.AddSingleton(sp => KeyProtector.Create(sp.GetRequiredService<IOptions<EncryptionOptions>>().Value, env, dataPath));
        services.AddSingleton<TokenService>();

        services.AddIdentity<AdminAccount, IdentityRole>(o =>
            {
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(5);
                o.Lockout.AllowedForNewUsers = true;
                // Length over composition rules (NIST SP 800-63B); PasswordRules adds the deny-list.
                o.Password.RequiredLength = PasswordRules.MinLength;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 1;
                o.User.AllowedUserNameCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-";
            })
            .AddEntityFrameworkStores<MamaDbContext>()
            .AddPasswordValidator<PasswordRules>();

        // A password change or deletion must end existing cookie sessions at once, not after 30 minutes.
        services.Configure<SecurityStampValidatorOptions>(o =>
        {
            o.ValidationInterval = TimeSpan.Zero;
            o.OnRefreshingPrincipal = SessionCookie.KeepSessionId;
        });
        services.ConfigureApplicationCookie(o =>
        {
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.AccessDeniedPath = "/forbidden";
            o.Cookie.Name = "mama.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            // Sign-in turns renewal off (see SessionService.SignInAsync): the cookie ends with the session's absolute lifetime.
            o.SlidingExpiration = false;
            SessionCookie.Configure(o);
        });
        services.AddOptions<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme)
            .Configure<IOptions<UiOptions>>((o, ui) => o.ExpireTimeSpan = ui.Value.AbsoluteLifetime + SessionCookie.Grace);
        services.AddSingleton<SessionService>();

        services.AddAuthentication(o =>
            {
                o.DefaultScheme = Scheme;
                o.DefaultAuthenticateScheme = Scheme;
                o.DefaultChallengeScheme = Scheme;
                o.DefaultForbidScheme = Scheme;
            })
            .AddPolicyScheme(Scheme, "API client token for key lookups, bearer for the admin API, cookie for the UI", o => o.ForwardDefaultSelector = http => SchemeFor(http.Request))
            .AddScheme<AuthenticationSchemeOptions, ApiClientAuthentication>(ApiClientAuthentication.SchemeName, null)
            .AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = JwtOptions.Issuer,
                    ValidAudience = JwtOptions.Audience,
                    NameClaimType = "name",
                    RoleClaimType = "role",
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                o.Events = new JwtBearerEvents { OnTokenValidated = RejectRevokedTokenAsync };
            });
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKey>((o, key) => o.TokenValidationParameters.IssuerSigningKey = key.Key);

        services.AddAuthorizationBuilder().AddMamaPolicies();
        return services;
    }

    public static string SchemeFor(HttpRequest request) =>
        request.Path.StartsWithSegments("/api/v1/keys") || request.Path.StartsWithSegments("/key") ? ApiClientAuthentication.SchemeName
        // Scripts that managed users with the Python mama's shared key: an API client with scope manage, by X-API-Key.
        : request.Path.StartsWithSegments("/api/v1/users") && request.Headers.ContainsKey("X-API-Key") ? ApiClientAuthentication.SchemeName
        : request.Path.StartsWithSegments("/api") || Http.ApiDocs.IsDocsPath(request.Path) && HasBearerToken(request) ? JwtBearerDefaults.AuthenticationScheme
        : IdentityConstants.ApplicationScheme;

    private static bool HasBearerToken(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    /// <summary>A token is valid only while its account exists with the same security stamp and role.</summary>
    private static async Task RejectRevokedTokenAsync(TokenValidatedContext context)
    {
        var accounts = context.HttpContext.RequestServices.GetRequiredService<UserManager<AdminAccount>>();
        var principal = context.Principal!;
        var account = await accounts.FindByIdAsync(principal.FindFirstValue("sub") ?? "");
        if (account is null || account.SecurityStamp != principal.FindFirstValue(TokenService.StampClaim))
        {
            context.Fail("The token has been revoked.");
            return;
        }
        var roles = await accounts.GetRolesAsync(account);
        if (!roles.Contains(principal.FindFirstValue("role") ?? ""))
        {
            context.Fail("The account's role has changed.");
            return;
        }
        // From the account, not the token: the flag only ever changes together with the stamp, but the row is the truth.
        if (account.MustChangePassword) ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(PasswordChanged.MustChangeClaim, "true"));
    }
}
