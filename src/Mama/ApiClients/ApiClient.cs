namespace Mama.ApiClients;

/// <summary>Another system that fetches keys. Only a hash of its token is stored.</summary>
public sealed class ApiClient
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public required string Service { get; set; }
    public ApiClientScope Scope { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

public enum ApiClientScope
{
    Service,
    All,
    /// <summary>Every user's key, and the users endpoints of /api/v1 (list, read, create, edit, delete), as the Python mama's shared key could.</summary>
    Manage,
}
