using System.Data.Common;
using Mama.Audit;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Mama.Http;

/// <summary>The one place where exceptions become problem+json. No stack trace or exception text of an unexpected error leaves the process.</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    // The 503 words, shared with the admin UI so that a page says what the REST API says.
    public const string DatabaseUnavailable = "The database is unavailable right now. Nothing was changed; try again shortly.";

    public static string AuditUnavailable(AuditUnavailableException audit) => audit.Message + " The request was refused so that nothing goes unaudited; try again shortly.";

    /// <summary>The database failed or could not be reached, also when wrapped (by an execution strategy that gave up, say).</summary>
    public static bool IsDatabaseFailure(Exception e)
    {
        if (e is TimeoutException) return true;
        for (var x = e; x is not null and not AuditUnavailableException; x = x.InnerException)
            if (x is DbException or Microsoft.EntityFrameworkCore.DbUpdateException or Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException) return true;
        return false;
    }

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        ProblemDetails problem;
        if (exception is BadHttpRequestException { InnerException: InputGuard.NulInJsonException nul })
            exception = ProblemException.Validation(InputGuard.FieldOf(nul), nul.Message);
        switch (exception)
        {
            case ProblemException p:
                problem = p.Errors is null ? new ProblemDetails() : new HttpValidationProblemDetails(p.Errors);
                problem.Status = p.Status;
                problem.Title = p.Title;
                problem.Detail = p.Message;
                foreach (var (k, v) in p.Extensions) problem.Extensions[k] = v;
                if (p.RetryAfter is { } retry)
                    http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case BadHttpRequestException bad:
                // Kestrel and minimal-API binding failures: malformed JSON, wrong types, body too large.
                problem = new ProblemDetails
                {
                    Status = bad.StatusCode,
                    Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Payload too large" : "Bad request",
                    Detail = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                        ? "The request body is larger than the 1 MiB limit."
                        : DescribeBadRequest(bad),
                };
                break;
            case InvalidDataException:
                // The form reader's refusal of a malformed form, or of a NUL in it (it never reaches a handler).
                problem = new ProblemDetails { Status = 400, Title = "Bad request", Detail = "The form data is malformed or holds a character that is not allowed (such as NUL)." };
                break;
            case AuditUnavailableException audit:
                logger.LogError(exception, "Audit log unavailable; refusing the request");
                problem = new ProblemDetails { Status = 503, Title = "Service unavailable", Detail = AuditUnavailable(audit) };
                http.Response.Headers.RetryAfter = "1";
                break;
            case var failure when IsDatabaseFailure(failure):
                logger.LogError(exception, "Database failure");
                problem = new ProblemDetails { Status = 503, Title = "Service unavailable", Detail = DatabaseUnavailable };
                break;
            case OperationCanceledException when http.RequestAborted.IsCancellationRequested:
                return true;
            default:
                logger.LogError(exception, "Unhandled exception");
                problem = new ProblemDetails { Status = 500, Title = "Internal server error", Detail = "An unexpected error occurred." };
                break;
        }

        problem.Extensions["trace_id"] = System.Diagnostics.Activity.Current?.Id ?? http.TraceIdentifier;
        http.Response.StatusCode = problem.Status ?? 500;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>Words for the bare status codes that routing answers by itself (no endpoint, wrong method, wrong media type).</summary>
    public static void DescribeStatus(ProblemDetailsContext context) =>
        context.ProblemDetails.Detail ??= context.ProblemDetails.Status switch
        {
            StatusCodes.Status404NotFound => "Nothing is found at this address.",
            StatusCodes.Status405MethodNotAllowed => "This address does not take the " + context.HttpContext.Request.Method + " method.",
            StatusCodes.Status415UnsupportedMediaType => "Send the request body as application/json.",
            _ => null,
        };

    private static string DescribeBadRequest(BadHttpRequestException bad) =>
        bad.InnerException is System.Text.Json.JsonException json
            ? $"The request body is not valid JSON for this endpoint ({Sanitize(json.Message)})."
            : bad.Message.Contains("JSON", StringComparison.OrdinalIgnoreCase) || bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase)
                ? "The request body is missing or is not valid JSON for this endpoint."
                : "The request is malformed.";

    // System.Text.Json messages name the path and position, never the value; keep only the first sentence.
    private static string Sanitize(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
