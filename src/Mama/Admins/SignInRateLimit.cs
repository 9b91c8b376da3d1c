using System.Globalization;
using System.Threading.RateLimiting;
using Mama.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Mama.Admins;

public sealed class SignInOptions
{
    /// <summary>Sign-in attempts (API and form) one client address may make per minute on one instance.</summary>
    public int AttemptsPerMinutePerAddress { get; set; } = 20;
}

/// <summary>
/// Per-address throttling of sign-in attempts, so one address cannot drive the lockout of many accounts or guess
/// across them. The per-name lockout (<see cref="SignInThrottle"/>) still holds for attempts that get through.
/// </summary>
public static class SignInRateLimit
{
    public const string Policy = "sign-in";

    public static IServiceCollection AddSignInRateLimit(this IServiceCollection services)
    {
        services.AddOptions<SignInOptions>().BindConfiguration("Mama:SignIn");
        return services.AddRateLimiter(o =>
        {
            o.AddPolicy(Policy, http =>
            {
                // Showing the sign-in page is free; posting credentials is what is counted.
                if (!HttpMethods.IsPost(http.Request.Method)) return RateLimitPartition.GetNoLimiter("page");
                var limit = http.RequestServices.GetRequiredService<IOptions<SignInOptions>>().Value.AttemptsPerMinutePerAddress;
                return RateLimitPartition.GetFixedWindowLimiter("address " + ClientAddress.Key(http.Connection.RemoteIpAddress),
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
            o.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = "Too many sign-in attempts from this address. Wait and try again.",
                    },
                });
            };
        });
    }
}
