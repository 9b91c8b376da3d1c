namespace Mama.Http;

public static class RequestLimits
{
    public const long MaxBodyBytes = 1024 * 1024;
    public const int MaxUserIdsPerCall = 1000;

    /// <summary>
    /// Refuses a declared body over 1 MiB before anything reads it. Kestrel enforces the same limit on
    /// chunked bodies through <c>MaxRequestBodySize</c>; this covers hosts without that feature (tests).
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) =>
        app.Use((http, next) =>
        {
            if (http.Request.ContentLength > MaxBodyBytes)
                throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            return next(http);
        });
}
