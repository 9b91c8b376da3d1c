using Mama.Audit;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.ApiClients;

/// <summary>What registering a client with a token it already has did.</summary>
public enum ExistingTokenOutcome
{
    Created,
    /// <summary>A client of that name holds this very token: nothing to do (a second import).</summary>
    AlreadyRegistered,
}

public sealed partial class ApiClientService
{
    public const int MinExistingTokenLength = 8;

    /// <summary>
    /// Registers a client with a token another system already uses (the Python mama's shared <c>x-api-key</c>), stored as
    /// the same SHA-256 hash as every token, so <c>X-API-Key</c> works unchanged. Idempotent for the same name and token; a dry run checks without writing.
    /// </summary>
    public async Task<ExistingTokenOutcome> RegisterExistingTokenAsync(string name, string service, ApiClientScope scope, string token, Actor actor, CancellationToken ct, bool dryRun = false)
    {
        if (token.Length < MinExistingTokenLength || token.Any(c => c <= ' ' || c > '~'))
            throw ProblemException.Validation("token", $"The token must be at least {MinExistingTokenLength} printable ASCII characters without spaces.");
        var hash = Hash(token);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var existing = await db.ApiClients.AsNoTracking().Where(c => c.Name == name || c.TokenHash == hash).ToListAsync(ct);
        if (existing.Any(c => c.Name == name && c.TokenHash == hash && c.RevokedAt == null)) return ExistingTokenOutcome.AlreadyRegistered;
        if (existing.Any(c => c.Name == name))
            throw ProblemException.Conflict($"An API client named '{name}' already exists with another token (or revoked); nothing was changed.");
        if (existing.Count > 0) throw ProblemException.Conflict("Another API client already has this token; nothing was changed.");
        if (dryRun) return ExistingTokenOutcome.Created;

        var client = new ApiClient { Name = name, Service = service, Scope = scope, TokenHash = hash, CreatedAt = clock.GetUtcNow(), CreatedBy = actor.Name };
        db.ApiClients.Add(client);
        audit.Stage(db, new AuditEntry(actor, "api_client.create", AuditResult.Success, 201,
            Detail: new { name, service, scope = ScopeName(scope), token_supplied = true }));
        await db.SaveChangesAsync(ct);
        return ExistingTokenOutcome.Created;
    }
}
