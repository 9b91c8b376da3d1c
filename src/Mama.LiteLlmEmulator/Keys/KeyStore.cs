using Mama.LiteLlmEmulator.Http;

namespace Mama.LiteLlmEmulator.Keys;

/// <summary>
/// In-memory LiteLLM_VerificationToken plus the deleted-keys audit table.
/// Every endpoint does its whole read-check-write under <see cref="Gate"/>, so checks such as alias uniqueness are atomic here
/// (they are racy on a real proxy).
/// </summary>
internal sealed class KeyStore
{
    public Lock Gate { get; } = new();
    public Dictionary<string, KeyRow> Rows { get; } = new(StringComparer.Ordinal);
    public List<KeyRow> Deleted { get; } = [];

    // Alias → tokens, so the uniqueness check is a lookup (a real proxy asks its database), not a scan of every key.
    private readonly Dictionary<string, HashSet<string>> _byAlias = new(StringComparer.Ordinal);

    public KeyRow? Find(string rawOrHash) => Rows.GetValueOrDefault(Formats.HashIfNeeded(rawOrHash));

    public bool AliasTaken(string alias, string? exceptToken) =>
        _byAlias.TryGetValue(alias, out var tokens) && tokens.Any(t => t != exceptToken);

    public void Add(KeyRow row)
    {
        if (Rows.TryGetValue(row.Token, out var previous)) Unindex(previous);
        Rows[row.Token] = row;
        if (row.KeyAlias is { } alias)
        {
            if (!_byAlias.TryGetValue(alias, out var tokens)) _byAlias[alias] = tokens = new HashSet<string>(StringComparer.Ordinal);
            tokens.Add(row.Token);
        }
    }

    public bool Delete(string token)
    {
        if (!Rows.Remove(token, out var row))
        {
            return false;
        }
        Unindex(row);
        Deleted.Add(row);
        return true;
    }

    public void Clear()
    {
        Rows.Clear();
        Deleted.Clear();
        _byAlias.Clear();
    }

    private void Unindex(KeyRow row)
    {
        if (row.KeyAlias is { } alias && _byAlias.TryGetValue(alias, out var tokens) && tokens.Remove(row.Token) && tokens.Count == 0)
            _byAlias.Remove(alias);
    }
}
