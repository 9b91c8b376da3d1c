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

    public KeyRow? Find(string rawOrHash) => Rows.GetValueOrDefault(Formats.HashIfNeeded(rawOrHash));

    public bool AliasTaken(string alias, string? exceptToken) =>
        Rows.Values.Any(r => r.KeyAlias == alias && r.Token != exceptToken);

    public void Add(KeyRow row) => Rows[row.Token] = row;

    public bool Delete(string token)
    {
        if (!Rows.Remove(token, out var row))
        {
            return false;
        }
        Deleted.Add(row);
        return true;
    }
}
