using System.Security.Cryptography;
using System.Text;
using Mama.Data;
using Mama.Security;
using Microsoft.EntityFrameworkCore;

namespace Mama.Admins;

/// <summary>Failed sign-ins of one username, whether or not an account has it. The name is stored only as a keyed hash.</summary>
public sealed class SignInAttempts
{
    public string NameHash { get; set; } = "";
    /// <summary>Attempts counted since the last success or lock; each is counted before its password is checked.</summary>
    public int Failures { get; set; }
    /// <summary>Unix milliseconds; 0 or a past time means not locked.</summary>
    public long LockedUntil { get; set; }
    /// <summary>Unix milliseconds of the last attempt: rows idle for a day are deleted, so guessed names cannot pile up.</summary>
    public long LastAttemptAt { get; set; }
}

/// <summary>
/// Lockout per username, for known and unknown names alike, so the answers never tell which names exist. Each attempt
/// is counted by one atomic upsert before its password is checked, so parallel attempts on any number of instances
/// never evaluate more than <see cref="MaxFailures"/> passwords before the lock.
/// </summary>
public sealed class SignInThrottle(MamaDbContext db, SigningKey signingKey, TimeProvider clock)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan LockoutTime = TimeSpan.FromMinutes(5);

    private readonly byte[] _hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, signingKey.Key.Key, 32, info: "mama sign-in names"u8.ToArray());

    /// <summary>A keyed hash of the name as typed (case-insensitive, like sign-in): lets repeats be correlated without storing what may be a password.</summary>
    public string HashName(string username) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_hashKey, Encoding.UTF8.GetBytes(username.Normalize().ToUpperInvariant())));

    /// <summary>Counts one attempt; returns how long the name stays locked when the attempt may not be evaluated.</summary>
    public async Task<Attempt> BeginAsync(string nameHash, CancellationToken ct)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var lockUntil = now + (long)LockoutTime.TotalMilliseconds;
        // Counting the attempt and taking the lock on the fifth is one statement, so no interleaving can skip it.
        var counted = await db.Database.SqlQuery<long>($"""
            INSERT INTO sign_in_attempts ("NameHash", "Failures", "LockedUntil", "LastAttemptAt") VALUES ({nameHash}, 1, 0, {now})
            ON CONFLICT ("NameHash") DO UPDATE SET
              "Failures" = CASE WHEN sign_in_attempts."Failures" + 1 >= {MaxFailures} THEN 0 ELSE sign_in_attempts."Failures" + 1 END,
              "LockedUntil" = CASE WHEN sign_in_attempts."Failures" + 1 >= {MaxFailures} THEN {lockUntil} ELSE 0 END,
              "LastAttemptAt" = {now}
            WHERE sign_in_attempts."LockedUntil" <= {now}
            RETURNING "LockedUntil" AS "Value"
            """).ToListAsync(ct);
        if (counted.Count == 1) return new Attempt(true, counted[0] > 0, TimeSpan.Zero);

        var lockedUntil = await db.Set<SignInAttempts>().Where(a => a.NameHash == nameHash).Select(a => a.LockedUntil).SingleAsync(ct);
        return new Attempt(false, true, TimeSpan.FromMilliseconds(Math.Max(1000, lockedUntil - now)));
    }

    /// <summary>
    /// A correct password clears the count, and the lock its own attempt may have taken. It also deletes rows idle
    /// for a day (guesses at names, mostly), so that the table stays as small as the names tried recently.
    /// </summary>
    public async Task SucceededAsync(string nameHash, CancellationToken ct)
    {
        await ClearAsync(nameHash, ct);
        var dayAgo = clock.GetUtcNow().AddDays(-1).ToUnixTimeMilliseconds();
        await db.Set<SignInAttempts>().Where(a => a.LastAttemptAt < dayAgo && a.LockedUntil < dayAgo).ExecuteDeleteAsync(ct);
    }

    public async Task ClearAsync(string nameHash, CancellationToken ct) =>
        await db.Set<SignInAttempts>().Where(a => a.NameHash == nameHash)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Failures, 0).SetProperty(a => a.LockedUntil, 0L), ct);

    public async Task<HashSet<string>> LockedAsync(IEnumerable<string> nameHashes, CancellationToken ct)
    {
        var hashes = nameHashes.ToList();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        return (await db.Set<SignInAttempts>().AsNoTracking().Where(a => hashes.Contains(a.NameHash) && a.LockedUntil > now)
            .Select(a => a.NameHash).ToListAsync(ct)).ToHashSet();
    }

    /// <param name="MayProceed">False when the name is locked: answer 423 without checking the password.</param>
    /// <param name="LocksOnFailure">This attempt was the last one allowed; if it fails, the name is now locked.</param>
    public readonly record struct Attempt(bool MayProceed, bool LocksOnFailure, TimeSpan RetryAfter);
}
