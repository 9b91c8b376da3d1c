using Mama.Audit;
using Mama.Data;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.ApiClients;

public sealed record LookupRequest(IReadOnlyList<string>? UserIds);
public sealed record LookedUpUser(string UserId, string Organization, string Key, IReadOnlyList<string> AllowedModels, IReadOnlyList<string> AllowedServices, string ExtraInfo, string SyncState);
public sealed record LookupResponse(IReadOnlyList<LookedUpUser> Users, IReadOnlyList<string> NotFound, IReadOnlyList<string> Denied);

/// <summary>Key lookups for other systems. Every lookup is audited, with what was returned, missing and denied, before the answer goes out.</summary>
public sealed class KeyLookup(IDbContextFactory<MamaDbContext> dbFactory, KeyProtector protector, AuditLog audit)
{
    public async Task<LookupResponse> LookupAsync(ApiCaller caller, IReadOnlyList<string>? userIds, Actor actor, CancellationToken ct)
    {
        IReadOnlyList<string> ids;
        try
        {
            ids = UserValidation.RequireUserIds(userIds);
        }
        catch (Http.ProblemException e)
        {
            await audit.WriteAsync(new AuditEntry(actor, "key.lookup", AuditResult.Failure, 400, Reason: e.Message.Length > 300 ? e.Message[..300] : e.Message), ct);
            throw;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.KeyUsers.AsNoTracking()
            .Where(u => ids.Contains(u.UserId) && u.DeletedAt == null)
            .Select(u => new
            {
                u.UserId, u.Organization, u.ExtraInfo, u.KeyCiphertext, u.KeyEncryptionKeyId, u.SyncState, u.ModelNames, u.ServiceNames,
            })
            .ToListAsync(ct);

        var byId = rows.ToDictionary(r => r.UserId, StringComparer.Ordinal);
        var users = new List<LookedUpUser>(rows.Count);
        var notFound = new List<string>();
        var denied = new List<string>();
        foreach (var id in ids)
        {
            if (!byId.TryGetValue(id, out var row)) notFound.Add(id);
            else if (caller.Scope == ApiClientScope.Service && !User.Split(row.ServiceNames).Contains(caller.Service, StringComparer.Ordinal)) denied.Add(id);
            else users.Add(new LookedUpUser(row.UserId, row.Organization, protector.Unprotect(row.KeyCiphertext, row.KeyEncryptionKeyId, row.UserId),
                User.Split(row.ModelNames), User.Split(row.ServiceNames), row.ExtraInfo, row.SyncState.Name()));
        }

        var result = users.Count == 0 && denied.Count > 0 ? AuditResult.Denied : AuditResult.Success;
        await audit.WriteAsync(new AuditEntry(actor, "key.lookup", result, 200, ids,
            new { returned = users.Select(u => u.UserId), not_found = notFound, denied }), ct);
        return new LookupResponse(users, notFound, denied);
    }
}
