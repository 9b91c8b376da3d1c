using System.Collections.Concurrent;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.ApiClients;

public sealed record CreateApiClientRequest(string? Name, string? Service, string? Scope);
public sealed record ApiClientResponse(string Name, string Service, string Scope, DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);
/// <summary>The only answer that ever carries the token.</summary>
public sealed record CreatedApiClientResponse(string Name, string Service, string Scope, DateTimeOffset CreatedAt, string Token);
public sealed record ApiClientListResponse(IReadOnlyList<ApiClientResponse> Items);

/// <summary>An authenticated API client, as the lookup endpoints see it.</summary>
public sealed record ApiCaller(long Id, string Name, string Service, ApiClientScope Scope);

/// <summary>API clients: create (token shown once, stored as a SHA-256 hash), list, revoke, and token checks.</summary>
public sealed partial class ApiClientService(IDbContextFactory<MamaDbContext> dbFactory, AuditLog audit, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (ApiCaller? Caller, DateTimeOffset Until)> _byHash = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _lastUsedWritten = new();

    public async Task<ApiClientListResponse> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var clients = await db.ApiClients.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
        return new ApiClientListResponse(clients.Select(c => new ApiClientResponse(c.Name, c.Service, ScopeName(c.Scope), c.CreatedAt, c.CreatedBy, c.LastUsedAt, c.RevokedAt)).ToList());
    }

    public async Task<CreatedApiClientResponse> CreateAsync(CreateApiClientRequest request, Actor actor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || !NamePattern().IsMatch(request.Name)) errors["name"] = ["Use 1–100 letters, digits, '.', '_' or '-'."];
        if (UserValidation.CheckName(request.Service) is { } serviceError) errors["service"] = [serviceError];
        var scope = request.Scope?.Trim().ToLowerInvariant() switch
        {
            null or "" or "service" => ApiClientScope.Service,
            "all" => ApiClientScope.All,
            "manage" => ApiClientScope.Manage,
            _ => (ApiClientScope?)null,
        };
        if (scope is null) errors["scope"] = ["Must be service, all or manage."];
        if (errors.Count > 0) throw ProblemException.Validation(errors);

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.ApiClients.AnyAsync(c => c.Name == request.Name, ct))
        {
            await audit.WriteAsync(new AuditEntry(actor, "api_client.create", AuditResult.Failure, 409, Detail: new { name = request.Name }, Reason: "name taken"), ct);
            throw ProblemException.Conflict($"An API client named '{request.Name}' already exists (revoked clients keep their name).");
        }
        var token = NewToken();
        var client = new ApiClient
        {
            Name = request.Name!,
            Service = request.Service!.Trim(),
            Scope = scope!.Value,
            TokenHash = Hash(token),
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = actor.Name,
        };
        db.ApiClients.Add(client);
        audit.Stage(db, new AuditEntry(actor, "api_client.create", AuditResult.Success, 201, Detail: new { name = client.Name, service = client.Service, scope = ScopeName(client.Scope) }));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another create of the same name won the race. Any other failure (the audit insert among them) is a 503.
            if (!await NameTakenAsync(request.Name!, ct)) throw;
            await audit.WriteAsync(new AuditEntry(actor, "api_client.create", AuditResult.Failure, 409, Detail: new { name = request.Name }, Reason: "name taken"), ct);
            throw ProblemException.Conflict($"An API client named '{request.Name}' already exists.");
        }
        return new CreatedApiClientResponse(client.Name, client.Service, ScopeName(client.Scope), client.CreatedAt, token);
    }

    /// <summary>
    /// Revokes with a conditional update, so of concurrent revokes of one client exactly one succeeds (and is
    /// audited as such); the others find no active client and answer 404.
    /// </summary>
    public async Task RevokeAsync(string name, Actor actor, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var now = clock.GetUtcNow();
        var tokenHash = await db.InTransactionAsync(async token =>
        {
            var revoked = await db.ApiClients.Where(c => c.Name == name && c.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(c => c.RevokedAt, now), token);
            if (revoked != 1) return null;
            audit.Stage(db, new AuditEntry(actor, "api_client.revoke", AuditResult.Success, 204, Detail: new { name }));
            await db.SaveChangesAsync(token);
            return await db.ApiClients.Where(c => c.Name == name).Select(c => c.TokenHash).SingleAsync(token);
        }, ct);
        if (tokenHash is null)
        {
            await audit.WriteAsync(new AuditEntry(actor, "api_client.revoke", AuditResult.Failure, 404, Detail: new { name }, Reason: "no such active client"), ct);
            throw ProblemException.NotFound($"No active API client named '{name}'.");
        }
        _byHash.TryRemove(tokenHash, out _);
    }

    private async Task<bool> NameTakenAsync(string name, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ApiClients.AnyAsync(c => c.Name == name, ct);
    }

    /// <summary>The active client holding this token, or null. Cached for a few seconds: lookups are the hot path.</summary>
    public async Task<ApiCaller?> AuthenticateAsync(string token, CancellationToken ct)
    {
        var hash = Hash(token);
        var now = clock.GetUtcNow();
        if (!_byHash.TryGetValue(hash, out var cached) || cached.Until < now)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var caller = await db.ApiClients.AsNoTracking().Where(c => c.TokenHash == hash && c.RevokedAt == null)
                .Select(c => new ApiCaller(c.Id, c.Name, c.Service, c.Scope)).SingleOrDefaultAsync(ct);
            cached = (caller, now + CacheFor);
            _byHash[hash] = cached;
        }
        if (cached.Caller is { } found) Touch(found.Id, now);
        return cached.Caller;
    }

    /// <summary>
    /// Last-used is kept to the minute, so that lookups do not each cost a write, and written beside the request rather
    /// than in its way: on a stalled database a bookkeeping field must not hold a lookup past the audit write timeout.
    /// </summary>
    private void Touch(long id, DateTimeOffset now)
    {
        if (_lastUsedWritten.TryGetValue(id, out var last) && now - last < LastUsedResolution) return;
        _lastUsedWritten[id] = now;
        _ = Task.Run(async () =>
        {
            try
            {
                await using var db = await dbFactory.CreateDbContextAsync();
                await db.ApiClients.Where(c => c.Id == id).ExecuteUpdateAsync(s => s.SetProperty(c => c.LastUsedAt, now));
            }
            catch (Exception e) when (e is DbException or InvalidOperationException)
            {
                _lastUsedWritten.TryRemove(id, out _); // written at the next use instead
            }
        });
    }

    public static string NewToken() => "mama_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static string ScopeName(ApiClientScope scope) => scope switch
    {
        ApiClientScope.All => "all",
        ApiClientScope.Manage => "manage",
        _ => "service",
    };

    // \A…\z, not ^…$: in .NET '$' also matches before a final newline.
    [GeneratedRegex(@"\A[A-Za-z0-9._\-]{1,100}\z")]
    private static partial Regex NamePattern();
}
