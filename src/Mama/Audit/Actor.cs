using System.Diagnostics;
using System.Security.Claims;

namespace Mama.Audit;

/// <summary>Who did something, and from where: what every audit event records about its origin.</summary>
public sealed record Actor(string Name, string? Ip, string? TraceId)
{
    public static Actor System { get; } = new("system", null, null);

    /// <summary>A change made at the console (not an admin, not an API client).</summary>
    public static Actor Cli { get; } = new("system:cli", null, null);

    /// <summary>The prefix of an API client's name (<c>api:&lt;name&gt;</c>); admin usernames cannot hold a ':'.</summary>
    public const string ApiClientPrefix = "api:";

    public bool IsApiClient => Name.StartsWith(ApiClientPrefix, StringComparison.Ordinal);

    public static Actor From(HttpContext http) =>
        new(http.User.Identity?.IsAuthenticated == true ? http.User.Identity.Name ?? "unknown" : "anonymous",
            http.Connection.RemoteIpAddress?.ToString(),
            Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier);

    public static Actor Anonymous(HttpContext http, string name) => From(http) with { Name = name };

    public static Actor From(ClaimsPrincipal user, string? ip = null) =>
        new(user.Identity?.Name ?? "unknown", ip, Activity.Current?.TraceId.ToString());
}
