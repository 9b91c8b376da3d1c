namespace Mama.Http;

/// <summary>
/// An expected failure that becomes an RFC 9457 problem+json response.
/// <see cref="Exception.Message"/> is the problem's detail, so it must never hold a key, token or password.
/// </summary>
public sealed class ProblemException(int status, string title, string detail, IDictionary<string, string[]>? errors = null)
    : Exception(detail)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public IDictionary<string, string[]>? Errors { get; } = errors;
    public IDictionary<string, object?> Extensions { get; } = new Dictionary<string, object?>();
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>A stable name for the problem (the "code" member), so the UI can say it in the admin's language.</summary>
    public string? Code => Extensions.TryGetValue("code", out var code) ? code as string : null;

    public ProblemException WithCode(string code)
    {
        Extensions["code"] = code;
        return this;
    }

    /// <summary>The stable name of each field's problem (the "error_codes" member, by the keys of <see cref="Errors"/>), for the UI to say in the admin's language.</summary>
    public IReadOnlyDictionary<string, string> FieldCodes =>
        Extensions.TryGetValue("error_codes", out var codes) && codes is IReadOnlyDictionary<string, string> known ? known : new Dictionary<string, string>();

    public ProblemException WithFieldCodes(IReadOnlyDictionary<string, string> codes)
    {
        if (codes.Count > 0) Extensions["error_codes"] = codes;
        return this;
    }

    /// <summary>The names a field's problem is about (the "error_values" member: unknown models, say), to put into the UI's words; never a secret.</summary>
    public IReadOnlyDictionary<string, string> FieldValues =>
        Extensions.TryGetValue("error_values", out var values) && values is IReadOnlyDictionary<string, string> known ? known : new Dictionary<string, string>();

    public ProblemException WithFieldValues(IReadOnlyDictionary<string, string> values)
    {
        if (values.Count > 0) Extensions["error_values"] = values;
        return this;
    }

    public static ProblemException BadRequest(string detail) => new(400, "Bad request", detail);
    public static ProblemException Unauthorized(string detail) => new(401, "Unauthorized", detail);
    public static ProblemException Forbidden(string detail) => new(403, "Forbidden", detail);
    public static ProblemException NotFound(string detail) => new(404, "Not found", detail);
    public static ProblemException Conflict(string detail) => new(409, "Conflict", detail);
    public static ProblemException Unavailable(string detail) => new(503, "Service unavailable", detail);

    public static ProblemException Validation(string field, string message, string? code = null) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] }, code is null ? null : new Dictionary<string, string> { [field] = code });

    public static ProblemException Validation(IDictionary<string, string[]> errors, IReadOnlyDictionary<string, string>? codes = null, IReadOnlyDictionary<string, string>? values = null) =>
        new ProblemException(400, "Validation failed", "One or more fields are invalid: " + string.Join(", ", errors.Keys) + ".", errors)
            .WithCode("validation_failed").WithFieldCodes(codes ?? new Dictionary<string, string>()).WithFieldValues(values ?? new Dictionary<string, string>());
}
