using System.Security.Cryptography;
using Microsoft.AspNetCore.HttpsPolicy;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Mama.Security;

/// <summary>
/// Headers every response carries, errors and static files included: a Content-Security-Policy that lets only
/// mama's own scripts run (plus inline scripts carrying this response's nonce: the import map, the API docs'
/// start-up), no MIME sniffing, no referrer, and HSTS over https outside Development.
/// </summary>
public static class SecurityHeaders
{
    private const string NonceKey = "mama.csp-nonce";

    /// <summary>
    /// MudBlazor sets inline styles, hence 'unsafe-inline' for styles only; 'self' covers the same-origin
    /// WebSocket of the Blazor circuit (CSP 3).
    /// </summary>
    private const string Policy = "default-src 'self'; script-src 'self'{0}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        + "font-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'";

    /// <summary>A nonce for an inline script on this response; the policy sent with it allows exactly that script.</summary>
    public static string Nonce(HttpContext http)
    {
        if (http.Items[NonceKey] is not string nonce)
            http.Items[NonceKey] = nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        return nonce;
    }

    /// <summary>Goes before the exception handler, so that its error pages carry the headers too.</summary>
    public static IApplicationBuilder UseMamaSecurityHeaders(this IApplicationBuilder app)
    {
        var hsts = app.ApplicationServices.GetRequiredService<IHostEnvironment>().IsDevelopment()
            ? null
            : app.ApplicationServices.GetRequiredService<IOptions<HstsOptions>>().Value;
        return app.Use((http, next) =>
        {
            http.Response.OnStarting(() =>
            {
                var headers = http.Response.Headers;
                var nonces = new[] { http.Items[NonceKey], http.Items[ScalarOptions.NonceHttpContextItemKey] }.OfType<string>();
                headers.ContentSecurityPolicy = string.Format(Policy, string.Concat(nonces.Select(n => $" 'nonce-{n}'")));
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                if (hsts is not null && http.Request.IsHttps && !hsts.ExcludedHosts.Contains(http.Request.Host.Host, StringComparer.OrdinalIgnoreCase))
                    headers.StrictTransportSecurity = $"max-age={(long)hsts.MaxAge.TotalSeconds}" + (hsts.IncludeSubDomains ? "; includeSubDomains" : "") + (hsts.Preload ? "; preload" : "");
                return Task.CompletedTask;
            });
            return next(http);
        });
    }
}
