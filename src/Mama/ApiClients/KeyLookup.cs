using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Mama.Audit;
using Mama.Data;
using Mama.Observability;
using Mama.Security;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.ApiClients;

public sealed record LookupRequest(IReadOnlyList<string>? UserIds);
/// <param name="Usable">The key has reached the proxy and is neither blocked (no models), expired nor in conflict: it works when used.</param>
/// <param name="Expired">The user's <c>expires_at</c> has passed: the key is blocked on the proxy until it is extended or rotated.</param>
/// <param name="PreviousKey">The key a rotation replaced, still working until <paramref name="PreviousKeyExpiresAt"/>; absent outside a grace window.</param>
public sealed record LookedUpUser(string UserId, string Organization, string Key, IReadOnlyList<string> AllowedModels, IReadOnlyList<string> AllowedServices, string ExtraInfo, string SyncState,
    bool Usable, bool Expired = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PreviousKey = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? PreviousKeyExpiresAt = null)
{
    /// <summary>
    /// This answer already written as JSON by <see cref="LookupJson"/>, when a cached row holds it; never part of the
    /// answer itself. Set last: a <c>with</c> copies it, so a copy that changes a field must set it again (or to null).
    /// </summary>
    [JsonIgnore]
    internal byte[]? Json { get; set; }

    // Printed (a log line, an assertion message, a debugger) without its keys.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("UserId = ").Append(UserId).Append(", SyncState = ").Append(SyncState).Append(", Usable = ").Append(Usable).Append(", Expired = ").Append(Expired);
        return true;
    }
}
/// <summary>A user whose row exists but cannot be answered; <c>reason</c> is <c>key_unreadable</c> (the key does not decrypt).</summary>
public sealed record LookupFailure(string UserId, string Reason);
public sealed record LookupResponse(IReadOnlyList<LookedUpUser> Users, IReadOnlyList<string> NotFound, IReadOnlyList<string> Denied, IReadOnlyList<LookupFailure> Failed);

public sealed class LookupOptions
{
    /// <summary>
    /// How many users' rows key lookups keep in memory, each with its key once decrypted (SQLite only; env
    /// <c>Mama__Lookup__CacheSize</c>). 0 reads every row from the database and decrypts every key per lookup.
    /// </summary>
    public int CacheSize { get; set; } = 100_000;
}

/// <summary>Key lookups for other systems. Every lookup is audited, with what was returned, missing, denied and failed, before the answer goes out.</summary>
/// <param name="changes">
/// Registered on SQLite only. There this process is the database's only writer (DESIGN §7), so rows can be cached
/// until the next write; with PostgreSQL several instances share the database and every lookup reads it.
/// </param>
public sealed class KeyLookup(IDbContextFactory<MamaDbContext> dbFactory, KeyProtector protector, AuditLog audit, IOptions<LookupOptions> options, TimeProvider clock, ILogger<KeyLookup> logger, MamaMetrics metrics, UserTableChanges? changes = null)
    : IDisposable
{
    private const int MaxIdleReaders = 16;
    /// <summary>
    /// Rows with longer extra info keep no JSON: escaped, a character can take six bytes (4,000 Hangul characters are
    /// ~24 KB of JSON beside the row's own 8 KB), and writing such an answer costs little beside sending it.
    /// </summary>
    private const int MaxKeptJsonExtraInfo = 256;
    private readonly ConcurrentBag<RowReader> _idle = [];
    private readonly UserRowCache<Row>? _cache = changes is not null && options.Value.CacheSize > 0 ? new(changes, options.Value.CacheSize) : null;

    /// <summary>How many users' rows (and decrypted keys) the cache holds now; 0 without a cache.</summary>
    internal int CachedRows => _cache?.Count ?? 0;

    public Task<LookupResponse> LookupAsync(ApiCaller caller, IReadOnlyList<string>? userIds, Actor actor, CancellationToken ct) =>
        ValidateThenAnswerAsync(caller, userIds, actor, single: false, ct);

    /// <summary>One user, or the problem the client gets (403, 404, 409), audited with that status.</summary>
    public async Task<LookedUpUser> GetOneAsync(ApiCaller caller, string userId, Actor actor, CancellationToken ct)
    {
        var found = await ValidateThenAnswerAsync(caller, [userId], actor, single: true, ct);
        return found.Users.FirstOrDefault() ?? throw SingleProblem(found, userId, legacy: false);
    }

    /// <summary>
    /// The earlier Python mama's <c>POST /key/info</c>, which answered any list: an ID that cannot exist and a repeated
    /// one are left out (the audit counts the invalid ones, without their text), as are users whose key has never
    /// reached the proxy or is in conflict, since that mama never had such users (the audit lists them under <c>not_live</c>).
    /// </summary>
    public async Task<IReadOnlyList<LookedUpUser>> LegacyLookupAsync(ApiCaller caller, IReadOnlyList<string?> requested, Actor actor, CancellationToken ct)
    {
        // In NFC, as IDs are stored: a client sending another Unicode form of an ID finds its user.
        var normalized = requested.Select(UserValidation.NormalizeUserId).ToList();
        var valid = normalized.Where(UserValidation.IsValidUserId).Select(id => id!).Distinct(StringComparer.Ordinal).ToList();
        var invalid = normalized.Count(id => !UserValidation.IsValidUserId(id));
        return (await AnswerAsync(caller, valid, actor, single: false, legacy: true, invalid, ct)).Users;
    }

    /// <summary>The earlier Python mama's <c>GET /key/{user_id}</c>: an ID that cannot exist is just not found.</summary>
    public async Task<LookedUpUser> LegacyGetOneAsync(ApiCaller caller, string userId, Actor actor, CancellationToken ct)
    {
        userId = UserValidation.NormalizeUserId(userId)!;
        var valid = UserValidation.IsValidUserId(userId);
        var found = await AnswerAsync(caller, valid ? [userId] : [], actor, single: true, legacy: true, valid ? 0 : 1, ct);
        return found.Users.FirstOrDefault() ?? throw SingleProblem(found, userId, legacy: true);
    }

    /// <summary>A lookup refused before any ID was read (a body that is not a valid request), audited like any other.</summary>
    public Task AuditRefusedAsync(Actor actor, Http.ProblemException problem, CancellationToken ct) =>
        audit.WriteAsync(new AuditEntry(actor, "key.lookup", AuditResult.Failure, problem.Status, Reason: problem.Message.Length > 300 ? problem.Message[..300] : problem.Message), ct);

    private async Task<LookupResponse> ValidateThenAnswerAsync(ApiCaller caller, IReadOnlyList<string>? userIds, Actor actor, bool single, CancellationToken ct)
    {
        IReadOnlyList<string> ids;
        try
        {
            ids = UserValidation.RequireUserIds(userIds);
        }
        catch (Http.ProblemException e)
        {
            await AuditRefusedAsync(actor, e, ct);
            throw;
        }
        return await AnswerAsync(caller, ids, actor, single, legacy: false, invalid: 0, ct);
    }

    private async Task<LookupResponse> AnswerAsync(ApiCaller caller, IReadOnlyList<string> ids, Actor actor, bool single, bool legacy, int invalid, CancellationToken ct)
    {
        var byId = await ReadRowsAsync(ids, ct);
        var users = new List<LookedUpUser>(byId.Count);
        var notFound = new List<string>();
        var denied = new List<string>();
        var failed = new List<LookupFailure>();
        var notLive = legacy ? new List<string>() : null;
        // Expiry and the grace window are judged now, not when the row was read: a cached row stays right as time passes.
        var now = clock.GetUtcNow();
        foreach (var id in ids)
        {
            if (!byId.TryGetValue(id, out var row)) notFound.Add(id);
            else if (notLive is not null && (!row.KeyLive || row.SyncState == SyncState.Conflict))
            {
                notFound.Add(id);
                notLive.Add(id);
            }
            else if (caller.Scope == ApiClientScope.Service && !row.Services.Contains(caller.Service, StringComparer.Ordinal)) denied.Add(id);
            else if (Decrypt(row) is not { } key) failed.Add(new LookupFailure(id, KeyProtector.KeyUnreadable));
            else users.Add(WithJson(row, Answer(row, key, now, legacy), legacy));
        }

        var response = new LookupResponse(users, notFound, denied, failed);
        // A batch answers 200 whatever each ID's fate; a single key answers the problem of its one ID.
        var status = single && users.Count == 0 ? SingleProblem(response, ids.Count > 0 ? ids[0] : "", legacy).Status : 200;
        var result = users.Count > 0 || (status == 200 && denied.Count == 0 && failed.Count == 0) ? AuditResult.Success
            : denied.Count > 0 ? AuditResult.Denied : AuditResult.Failure;
        await audit.WriteAsync(new AuditEntry(actor, "key.lookup", result, status, ids,
            new LookupDetail(users.ConvertAll(u => u.UserId), notFound, denied, failed.ConvertAll(f => f.UserId), notLive, legacy ? invalid : null)), ct);
        // Counted once audited: a lookup whose audit failed answered 503 and returned no key.
        metrics.LookupAnswered(ids.Count, users.Count, denied.Count);
        return response;
    }

    private LookedUpUser Answer(Row row, string key, DateTimeOffset now, bool legacy)
    {
        var expired = row.ExpiresAt <= now;
        var usable = User.IsUsable(row.KeyLive, row.SyncState, row.ModelNames) && !expired;
        var answer = new LookedUpUser(row.UserId, row.Organization, key, row.Models, row.Services, row.ExtraInfo, row.SyncState.Name(), usable, expired);
        // The legacy endpoints hand out the current key only, so the replaced one is not even decrypted for them.
        if (legacy || !(row.PreviousKeyExpiresAt > now) || row.PreviousKeyCiphertext is null) return answer;
        var previous = row.PreviousKey ??= protector.TryUnprotect(row.PreviousKeyCiphertext, row.PreviousKeyEncryptionKeyId ?? "", row.UserId);
        if (previous is null) logger.LogWarning("The previous key of user {UserId} (encryption key id {KeyId}) cannot be decrypted", row.UserId, row.PreviousKeyEncryptionKeyId);
        return previous is null ? answer : answer with { PreviousKey = previous, PreviousKeyExpiresAt = row.PreviousKeyExpiresAt };
    }

    /// <summary>
    /// The answer with its JSON, which a cached row keeps for as long as what time decides (expired, the replaced key
    /// shown) stays as it was written; only for rows the cache may hold, since only they are asked again. The legacy
    /// endpoints answer in shapes of their own, so they need none.
    /// </summary>
    private LookedUpUser WithJson(Row row, LookedUpUser answer, bool legacy)
    {
        if (legacy || _cache is null || answer.ExtraInfo.Length > MaxKeptJsonExtraInfo) return answer;
        var previousKeyShown = answer.PreviousKey is not null;
        if (row.Json is not { } written || written.Expired != answer.Expired || written.PreviousKeyShown != previousKeyShown)
            row.Json = written = new Row.Written(answer.Expired, previousKeyShown, LookupJson.Serialize(answer));
        answer.Json = written.Bytes;
        return answer;
    }

    private static Http.ProblemException SingleProblem(LookupResponse found, string userId, bool legacy) =>
        found.Denied.Count > 0 ? Http.ProblemException.Forbidden($"This API client may not read user '{userId}'.")
        : found.Failed.Count > 0 ? KeyProtector.Unreadable(userId)
        : Http.ProblemException.NotFound(legacy ? LegacyKeysApi.UserNotFound : $"No user '{userId}'.");

    private string? Decrypt(Row row)
    {
        var key = row.Key ??= protector.TryUnprotect(row.KeyCiphertext, row.KeyEncryptionKeyId, row.UserId);
        if (key is null) logger.LogWarning("The key of user {UserId} (encryption key id {KeyId}) cannot be decrypted", row.UserId, row.KeyEncryptionKeyId);
        return key;
    }

    /// <summary>The rows of the users found, by user ID: from the cache where it holds them, else from the database.</summary>
    private async Task<Dictionary<string, Row>> ReadRowsAsync(IReadOnlyList<string> ids, CancellationToken ct)
    {
        var rows = new Dictionary<string, Row>(ids.Count, StringComparer.Ordinal);
        if (ids.Count == 0) return rows;
        if (_cache is null)
        {
            await ReadFromDatabaseAsync(ids, rows, ct);
            return rows;
        }

        var version = _cache.Version; // before reading: a write that commits during the read makes what it reads uncacheable
        List<string>? missing = null;
        foreach (var id in ids)
        {
            if (_cache.TryGet(id, out var row)) rows[id] = row;
            else (missing ??= []).Add(id);
        }
        if (missing is null) return rows;
        await ReadFromDatabaseAsync(missing, rows, ct);
        foreach (var id in missing)
            if (rows.TryGetValue(id, out var row)) _cache.Add(id, row, version);
        return rows;
    }

    /// <summary>
    /// The hot path of every lookup, so it skips EF: a connection kept open with its statement prepared, one
    /// statement for any number of IDs (a JSON array on SQLite, an array parameter on PostgreSQL). Opening a
    /// pooled connection and building the SQL for a list parameter cost more than the query itself, and both
    /// serialise concurrent requests on a lock.
    /// </summary>
    private async Task ReadFromDatabaseAsync(IReadOnlyList<string> ids, Dictionary<string, Row> rows, CancellationToken ct)
    {
        var reader = _idle.TryTake(out var idle) ? idle : await RowReader.OpenAsync(dbFactory, ct);
        try
        {
            await reader.ReadAsync(ids, rows, ct);
            if (_idle.Count < MaxIdleReaders) _idle.Add(reader);
            else reader.Dispose();
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var reader)) reader.Dispose();
    }

    private sealed record LookupDetail(List<string> Returned, List<string> NotFound, List<string> Denied, List<string> Failed,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] List<string>? NotLive,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? Invalid);

    /// <summary>
    /// A user's row as lookups need it. <see cref="Key"/> and <see cref="PreviousKey"/> hold the keys once decrypted,
    /// so a row in the cache is decrypted once, not on every lookup (README, "Keys in memory"): the row, and so its
    /// keys, is never served after a write to users.
    /// </summary>
    private sealed record Row(string UserId, string Organization, string ExtraInfo, byte[] KeyCiphertext, string KeyEncryptionKeyId, SyncState SyncState, string ModelNames, string ServiceNames, bool KeyLive,
        DateTimeOffset? ExpiresAt, byte[]? PreviousKeyCiphertext, string? PreviousKeyEncryptionKeyId, DateTimeOffset? PreviousKeyExpiresAt)
    {
        public IReadOnlyList<string> Models { get; } = User.Split(ModelNames);
        public IReadOnlyList<string> Services { get; } = User.Split(ServiceNames);
        // Set by whichever lookup decrypts first; two racing ones store the same text. A key that does not decrypt stays null.
        public string? Key { get; set; }
        public string? PreviousKey { get; set; }
        // The non-legacy answer as JSON (with the keys in it), and what time had decided when it was written.
        public Written? Json { get; set; }

        public sealed record Written(bool Expired, bool PreviousKeyShown, byte[] Bytes);

        // Printed (a log line, an exception, a debugger) as its user ID only, never its keys.
        private bool PrintMembers(System.Text.StringBuilder builder)
        {
            builder.Append("UserId = ").Append(UserId);
            return true;
        }
    }

    private sealed class RowReader(MamaDbContext db, DbCommand command, bool sqlite) : IDisposable
    {
        private const string Columns = """
            SELECT "UserId", "Organization", "ExtraInfo", "KeyCiphertext", "KeyEncryptionKeyId", "SyncState", "ModelNames", "ServiceNames", "KeyLiveAt" IS NOT NULL,
                "ExpiresAt", "PreviousKeyCiphertext", "PreviousKeyEncryptionKeyId", "PreviousKeyExpiresAt" FROM "users"
            """;

        public static async Task<RowReader> OpenAsync(IDbContextFactory<MamaDbContext> dbFactory, CancellationToken ct)
        {
            // Opened through EF so that the provider's connection settings apply; the context lives as long as the reader.
            var db = await dbFactory.CreateDbContextAsync(ct);
            try
            {
                await db.Database.OpenConnectionAsync(ct);
                var sqlite = db.Database.IsSqlite();
                var command = db.Database.GetDbConnection().CreateCommand();
                command.CommandText = sqlite
                    ? Columns + """ WHERE "UserId" IN (SELECT value FROM json_each(@ids)) AND "DeletedAt" IS NULL"""
                    : Columns + """ WHERE "UserId" = ANY(@ids) AND "DeletedAt" IS NULL""";
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@ids";
                parameter.Value = sqlite ? "[]" : Array.Empty<string>();
                command.Parameters.Add(parameter);
                await command.PrepareAsync(ct);
                return new RowReader(db, command, sqlite);
            }
            catch
            {
                await db.DisposeAsync();
                throw;
            }
        }

        public async Task ReadAsync(IReadOnlyList<string> ids, Dictionary<string, Row> rows, CancellationToken ct)
        {
            command.Parameters[0].Value = sqlite ? JsonSerializer.Serialize(ids) : ids as string[] ?? [.. ids];
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var row = new Row(reader.GetString(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3), reader.GetString(4),
                    Enum.Parse<SyncState>(reader.GetString(5)), reader.GetString(6), reader.GetString(7), Convert.ToBoolean(reader.GetValue(8), System.Globalization.CultureInfo.InvariantCulture),
                    Time(reader, 9), reader.IsDBNull(10) ? null : (byte[])reader.GetValue(10), reader.IsDBNull(11) ? null : reader.GetString(11), Time(reader, 12));
                rows[row.UserId] = row;
            }
        }

        // As EF stores them: UTC ticks on SQLite (it cannot compare DateTimeOffset), timestamptz on PostgreSQL.
        private DateTimeOffset? Time(DbDataReader reader, int ordinal) =>
            reader.IsDBNull(ordinal) ? null
            : sqlite ? new DateTimeOffset(reader.GetInt64(ordinal), TimeSpan.Zero)
            : reader.GetFieldValue<DateTimeOffset>(ordinal);

        public void Dispose()
        {
            command.Dispose();
            db.Dispose();
        }
    }
}
