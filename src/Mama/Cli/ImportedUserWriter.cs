using Mama.Data;
using Mama.Http;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.Cli;

/// <summary>
/// How every import writes users: rows mama already has are set aside, the rest are added pending, in transactions of
/// at most <see cref="BatchSize"/> rows, their keys encrypted; the reconciler then adopts or pushes each key.
/// </summary>
public sealed class ImportedUserWriter(IDbContextFactory<MamaDbContext> dbFactory, KeyProtector protector, TimeProvider clock)
{
    public const int BatchSize = 1000;

    /// <summary>
    /// Moves aside users mama already has: the same ID with the same key was imported before (as is any ID when
    /// <paramref name="anyKey"/> says the row's key was made up here); anything else of the same ID conflicts.
    /// </summary>
    public async Task<(int Existing, List<Refusal> Conflicts)> SortAgainstMamaAsync(List<UserToImport> users, List<Refusal> refused,
        Func<UserToImport, bool> anyKey, CancellationToken ct)
    {
        var conflicts = new List<Refusal>();
        var existing = 0;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var chunk in users.Chunk(BatchSize).ToList())
        {
            var ids = chunk.Select(u => u.UserId).ToList();
            var hashes = chunk.Select(u => u.KeyHash).ToList();
            var found = await db.KeyUsers.AsNoTracking().Where(u => ids.Contains(u.UserId) || hashes.Contains(u.KeyHash))
                .Select(u => new { u.UserId, u.KeyHash, u.DeletedAt }).ToListAsync(ct);
            foreach (var user in chunk)
            {
                var sameId = found.FirstOrDefault(f => f.UserId == user.UserId);
                var sameKey = found.FirstOrDefault(f => f.KeyHash == user.KeyHash);
                if (sameId is not null && (sameId.KeyHash == user.KeyHash || anyKey(user)) && sameId.DeletedAt is null) existing++;
                else if (sameId is not null)
                    conflicts.Add(PythonMamaPlan.UserRefusal(user.Source, sameId.DeletedAt is null
                        ? "mama already has a user with this ID and another key"
                        : "mama has a deleted user with this ID whose key is still being removed from the proxy"));
                else if (sameKey is not null)
                {
                    refused.Add(PythonMamaPlan.UserRefusal(user.Source, $"key: mama's user '{TextRules.Printable(sameKey.UserId)}' already has this key"));
                }
                else continue;
                users.Remove(user);
            }
        }
        return (existing, conflicts);
    }

    public async Task WriteAsync(List<UserToImport> users, string createdBy, TextWriter output, CancellationToken ct)
    {
        var done = 0;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var chunk in users.Chunk(BatchSize))
        {
            await db.InTransactionAsync(async token =>
            {
                var now = clock.GetUtcNow();
                foreach (var row in chunk) db.KeyUsers.Add(NewUser(row, createdBy, now));
                await db.SaveChangesAsync(token);
                return true;
            }, ct);
            done += chunk.Length;
            await output.WriteLineAsync($"users: {done}/{users.Count}");
        }
    }

    private User NewUser(UserToImport row, string createdBy, DateTimeOffset now)
    {
        var key = row.Source.KeyValue;
        var created = row.Source.CreatedAt ?? now;
        var user = new User
        {
            UserId = row.UserId,
            Organization = row.Source.Organization?.Trim() ?? "",
            ExtraInfo = row.Source.ExtraInfo ?? "",
            KeyCiphertext = protector.Protect(key, row.UserId),
            KeyEncryptionKeyId = protector.CurrentKeyId,
            KeyHash = row.KeyHash,
            KeyLastFour = key[^4..],
            CreatedAt = created,
            CreatedBy = createdBy,
            UpdatedAt = row.Source.UpdatedAt ?? created,
            UpdatedBy = createdBy,
            // Pending with the key's value: the sync finds that very key under the user's alias and adopts it.
            SyncState = SyncState.Pending,
            NextSyncAt = now,
            ExpiresAt = row.Source.ExpiresAt,
            Version = 1,
        };
        user.SetModels(row.Models);
        user.SetServices(row.Services);
        return user;
    }
}
