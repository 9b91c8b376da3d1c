using System.Text.Json;
using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.Components.Shared;
using Mama.Data;
using Mama.Http;
using Mama.Users;
using Microsoft.EntityFrameworkCore;

namespace Mama.LiteLlm;

/// <param name="AliasPattern">A .NET regular expression the whole alias must match.</param>
/// <param name="Metadata">A <c>name=value</c> the key's metadata must hold.</param>
/// <param name="Keys">With <paramref name="Apply"/>: lines of <c>user_id,key</c>, the plaintexts of the unowned keys to adopt.</param>
public sealed record AdoptRequest(string? AliasPattern, string? Metadata, bool Apply = false, string? Keys = null);
public sealed record UnownedKey(string KeyAlias, string KeyHashPrefix, IReadOnlyList<string> Models, JsonElement Metadata);
public sealed record AdoptConflict(string UserId, string ProxyKeyHashPrefix, string SyncState);
public sealed record AdoptRefusal(string UserId, string Reason);
public sealed record AdoptResponse(bool Applied, IReadOnlyList<UnownedKey> Unowned, IReadOnlyList<AdoptConflict> Conflicts,
    IReadOnlyList<string> Adopted, IReadOnlyList<AdoptRefusal> Refused, IReadOnlyList<SyncOutcome> Sync);

/// <summary>
/// Keys already on the proxy that mama does not own: listed (a dry run), and with their plaintexts, which the proxy
/// cannot reveal, turned into mama users whose sync then adopts them. Keys left out stay as they are: the drift check
/// only ever touches keys marked <c>managed_by: mama</c>.
/// </summary>
public sealed class KeyAdoption(IDbContextFactory<MamaDbContext> dbFactory, LiteLlmClient liteLlm, UserService users, AuditLog audit, Microsoft.Extensions.Options.IOptions<LiteLlmOptions> options)
{
    private const int MaxKeyLines = 1000;
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    public async Task<AdoptResponse> AdoptAsync(AdoptRequest request, Actor actor, CancellationToken ct)
    {
        var (pattern, metadataName, metadataValue) = ParseFilter(request);
        if (!request.Apply && request.Keys is not null) throw ProblemException.Validation("keys", "Keys are taken only with apply: true.");
        var supplied = request.Apply ? ParseKeys(request.Keys) : [];

        var onProxy = new List<LiteLlmKey>();
        try
        {
            await foreach (var key in liteLlm.ListKeysAsync(ct))
                if (key.KeyAlias is { Length: > 0 } alias && key.Token is { Length: > 0 } && Matches(pattern, alias)
                    && (metadataName is null || key.MetadataValue(metadataName) == metadataValue))
                    onProxy.Add(key);
        }
        catch (LiteLlmException e)
        {
            await audit.WriteAsync(new AuditEntry(actor, "litellm.adopt", AuditResult.Failure, 503, Detail: Filter(request), Reason: e.Message), ct);
            throw ProblemException.Unavailable(e.Message);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var aliases = onProxy.Select(k => k.KeyAlias!).ToList();
        var known = await db.KeyUsers.AsNoTracking().Where(u => aliases.Contains(u.UserId) && u.DeletedAt == null)
            .Select(u => new { u.UserId, u.KeyHash, u.SyncState }).ToDictionaryAsync(u => u.UserId, ct);
        var unowned = new List<LiteLlmKey>();
        var conflicts = new List<AdoptConflict>();
        foreach (var key in onProxy.OrderBy(k => k.KeyAlias, StringComparer.Ordinal))
        {
            if (!known.TryGetValue(key.KeyAlias!, out var user)) unowned.Add(key);
            else if (user.KeyHash != key.Token) conflicts.Add(new AdoptConflict(user.UserId, Prefix(key.Token!), user.SyncState.Name()));
        }

        var refused = new List<AdoptRefusal>();
        var rows = new List<NewUserRequest?>();
        var byAlias = unowned.ToDictionary(k => k.KeyAlias!, StringComparer.Ordinal);
        foreach (var (userId, key) in supplied)
        {
            if (!byAlias.TryGetValue(userId, out var proxyKey)) refused.Add(new(userId, "No unowned proxy key in this filter has this alias."));
            else if (UserValidation.CheckNewUserId(userId, options.Value.KeyAliasPattern) is { } idError) refused.Add(new(userId, "The alias cannot be a mama user ID: " + idError));
            else if (UserValidation.CheckKey(key) is { } keyError) refused.Add(new(userId, keyError));
            else if (LiteLlmClient.HashKey(key) != proxyKey.Token) refused.Add(new(userId, "This is not the key the proxy holds under this alias."));
            // LiteLLM reads no models as "all models"; mama would block such a key, so it is left for an admin to narrow first.
            else if (proxyKey.Models is not { Count: > 0 } models) refused.Add(new(userId, "The key may call every model; give it a list of models on the proxy first."));
            else rows.Add(new NewUserRequest(userId, proxyKey.MetadataValue("organization"), models, [], "", key));
        }

        IReadOnlyList<SyncOutcome> sync = [];
        var adopted = new List<string>();
        if (rows.Count > 0)
        {
            var created = await users.CreateAsync(new CreateUsersRequest(rows, AllowUnknownModels: true), actor, ct);
            adopted.AddRange(created.Users.Select(u => u.UserId));
            sync = created.Sync;
        }

        await audit.WriteAsync(new AuditEntry(actor, "litellm.adopt", AuditResult.Success, 200, adopted, new
        {
            filter = Filter(request),
            apply = request.Apply,
            unowned = unowned.Count,
            conflicts = conflicts.Count,
            adopted,
            refused = refused.Select(r => new { r.UserId, r.Reason }),
        }), ct);
        var stillUnowned = unowned.Where(k => !adopted.Contains(k.KeyAlias!)).Select(k => new UnownedKey(k.KeyAlias!, Prefix(k.Token!), k.Models ?? [], Scalars(k.Metadata)));
        return new AdoptResponse(request.Apply, stillUnowned.ToList(), conflicts, adopted, refused, sync);
    }

    private static object Filter(AdoptRequest request) => new { alias_pattern = request.AliasPattern, metadata = request.Metadata };

    private static (Regex? Pattern, string? Name, string? Value) ParseFilter(AdoptRequest request)
    {
        Regex? pattern = null;
        if (!string.IsNullOrEmpty(request.AliasPattern))
        {
            try
            {
                // Compiled alone first: an unbalanced ')' could otherwise break out of the anchors below.
                _ = new Regex(request.AliasPattern, RegexOptions.CultureInvariant);
                pattern = new Regex(@"\A(?:" + request.AliasPattern + @")\z", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
            }
            catch (ArgumentException e)
            {
                throw ProblemException.Validation("alias_pattern", "Not a valid regular expression: " + e.Message);
            }
        }
        if (string.IsNullOrEmpty(request.Metadata)) return (pattern, null, null);
        var equals = request.Metadata.IndexOf('=');
        if (equals <= 0) throw ProblemException.Validation("metadata", "Give name=value, e.g. team=search.");
        return (pattern, request.Metadata[..equals].Trim(), request.Metadata[(equals + 1)..].Trim());
    }

    private static bool Matches(Regex? pattern, string alias)
    {
        if (pattern is null) return true;
        try
        {
            return pattern.IsMatch(alias);
        }
        catch (RegexMatchTimeoutException)
        {
            throw ProblemException.Validation("alias_pattern", "The pattern takes too long to match; simplify it.");
        }
    }

    /// <summary>Lines of <c>user_id,key</c> (a header line is skipped). Errors name the line, never the key.</summary>
    private static List<(string UserId, string Key)> ParseKeys(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var result = new List<(string, string)>();
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var fields = Csv.SplitLine(lines[i]);
            if (fields.Count == 2 && fields[0].Equals("user_id", StringComparison.OrdinalIgnoreCase)) continue;
            if (fields.Count != 2 || fields[0].Length == 0 || fields[1].Length == 0)
                throw ProblemException.Validation("keys", $"Line {i + 1}: give user_id,key.");
            // A swapped line would otherwise put the key where user IDs go: into the answer and the audit.
            if (fields[0].StartsWith("sk-", StringComparison.Ordinal))
                throw ProblemException.Validation("keys", $"Line {i + 1}: the first field looks like a key; give user_id,key.");
            result.Add((fields[0], fields[1]));
        }
        if (result.Count > MaxKeyLines) throw ProblemException.Validation("keys", $"At most {MaxKeyLines} keys per call; got {result.Count}.");
        var twice = result.GroupBy(r => r.Item1, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw ProblemException.Validation("keys", $"'{SafeId(twice.Key)}' appears more than once.");
        return result;
    }

    /// <summary>
    /// The key's top-level metadata values that are plain text, numbers or flags. Nested objects are left out: LiteLLM keeps
    /// per-key logging settings there, with callback secrets.
    /// </summary>
    private static JsonElement Scalars(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object) return EmptyObject;
        var kept = new System.Text.Json.Nodes.JsonObject();
        foreach (var property in metadata.EnumerateObject())
            if (property.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                kept[property.Name] = System.Text.Json.Nodes.JsonValue.Create(property.Value);
        return JsonSerializer.SerializeToElement(kept);
    }

    private static string Prefix(string hash) => hash.Length > 8 ? hash[..8] : hash;

    private static string SafeId(string id) => UserValidation.IsValidUserId(id) ? id : "(an invalid user ID)";
}
