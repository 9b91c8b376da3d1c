using Mama.Security;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace Mama.Http;

/// <summary>Who may read the OpenAPI document and the docs page.</summary>
public enum ApiDocsAccess { Public, Admins, Off }

public sealed class ApiDocsOptions
{
    /// <summary><c>public</c>, <c>admins</c> (a signed-in admin, cookie or bearer) or <c>off</c> (404); env <c>Mama__ApiDocs</c>.</summary>
    public string? ApiDocs { get; set; }
}

/// <summary><c>/openapi/v1.json</c> and the Scalar page at <c>/docs</c>: public in Development, for admins elsewhere unless set.</summary>
public static class ApiDocs
{
    public const string Setting = "Mama:ApiDocs";

    public static IServiceCollection AddMamaApiDocs(this IServiceCollection services)
    {
        services.AddOpenApi();
        services.AddOptions<ApiDocsOptions>().BindConfiguration("Mama")
            .Validate(o => o.ApiDocs is null || Enum.TryParse<ApiDocsAccess>(o.ApiDocs, ignoreCase: true, out _),
                $"{Setting} (env Mama__ApiDocs) must be 'public', 'admins' or 'off'.")
            .ValidateOnStart();
        return services;
    }

    public static bool IsDocsPath(PathString path) => path.StartsWithSegments("/docs") || path.StartsWithSegments("/openapi");

    public static void MapMamaApiDocs(this WebApplication app)
    {
        var configured = app.Services.GetRequiredService<IOptions<ApiDocsOptions>>().Value.ApiDocs;
        var access = configured is null
            ? app.Environment.IsDevelopment() ? ApiDocsAccess.Public : ApiDocsAccess.Admins
            : Enum.Parse<ApiDocsAccess>(configured, ignoreCase: true);
        if (access == ApiDocsAccess.Off) return;

        IEndpointConventionBuilder[] endpoints =
        [
            app.MapOpenApi(),
            // Nothing from a CDN (the page's policy would refuse it) and nothing sent to Scalar.
            app.MapScalarApiReference("/docs", o => o.WithNonce().DisableDefaultFonts().DisableTelemetry().DisableAgent().DisableMcp()),
        ];
        foreach (var endpoint in endpoints)
        {
            if (access == ApiDocsAccess.Public) endpoint.AllowAnonymous();
            else endpoint.RequireAuthorization(Policies.Admin);
        }
    }
}
