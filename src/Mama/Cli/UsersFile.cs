using System.Globalization;
using System.Text;
using System.Text.Json;
using Mama.Http;
using Mama.Security;

namespace Mama.Cli;

/// <summary>
/// Reads a file of <c>GET /api/v1/users/export</c> (CSV with its header, or JSON lines) back into rows to import. Rows
/// are numbered from 1 after the CSV header. A row without a key gets a new one here, listed in <see cref="NewKeys"/>.
/// </summary>
public sealed class UsersFile
{
    private UsersFile(List<SourceUser> users, List<Refusal> refused, HashSet<int> newKeys)
    {
        Users = users;
        Refused = refused;
        NewKeys = newKeys;
    }

    public List<SourceUser> Users { get; }
    public List<Refusal> Refused { get; }
    public HashSet<int> NewKeys { get; }

    public static bool IsJsonLines(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jsonl" or ".ndjson";

    /// <summary>The rows of the file; throws <see cref="FormatException"/> when the file as a whole cannot be read.</summary>
    public static UsersFile Parse(string text, bool jsonLines)
    {
        var file = new UsersFile([], [], []);
        var rows = jsonLines ? JsonRows(text) : CsvRows(text);
        var number = 0;
        foreach (var fields in rows)
        {
            number++;
            file.Add(number, fields);
        }
        return file;
    }

    private void Add(int number, Fields fields)
    {
        var userId = fields.Text("user_id") ?? "";
        string? problem = fields.Problem;
        DateTimeOffset? created = null, updated = null, expires = null;
        if (problem is null && !TryTime(fields.Text("created_at"), out created)) problem = "created_at: not an ISO 8601 time";
        if (problem is null && !TryTime(fields.Text("updated_at"), out updated)) problem = "updated_at: not an ISO 8601 time";
        // Optional (files from before it existed have no such column); a date already past is imported as is: the key is blocked.
        if (problem is null && !TryTime(fields.Text("expires_at"), out expires)) problem = "expires_at: not an ISO 8601 time";
        var key = fields.Text("key");
        var newKey = string.IsNullOrEmpty(key);
        var user = new SourceUser(number, userId, fields.Text("organization"), newKey ? KeyProtector.NewLiteLlmKey() : key!, fields.Text("extra_info"),
            created, updated, fields.List("allowed_models"), fields.List("allowed_services"), expires);
        if (problem is not null)
        {
            Refused.Add(PythonMamaPlan.UserRefusal(user, problem));
            return;
        }
        if (newKey) NewKeys.Add(number);
        Users.Add(user);
    }

    private static bool TryTime(string? text, out DateTimeOffset? at)
    {
        at = null;
        if (string.IsNullOrEmpty(text)) return true;
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return false;
        at = parsed.ToUniversalTime();
        return true;
    }

    /// <summary>One row's values by column name, and what made the row unreadable, if anything. Never holds the reason's key text.</summary>
    private sealed class Fields(Dictionary<string, string?> text, Dictionary<string, List<string>> lists, string? problem)
    {
        public string? Problem { get; } = problem;

        public string? Text(string name) => text.GetValueOrDefault(name);

        public List<string> List(string name) => lists.GetValueOrDefault(name) ?? [];
    }

    private static readonly string[] ListColumns = ["allowed_models", "allowed_services"];

    private static IEnumerable<Fields> CsvRows(string text)
    {
        var records = ReadCsv(text);
        if (records.Count == 0) throw new FormatException("The file is empty: expected the export's header line first.");
        var header = records[0].Select(h => h.Trim()).ToList();
        if (!header.Contains("user_id")) throw new FormatException("The first line is not the export's header: it has no 'user_id' column.");
        foreach (var record in records.Skip(1).Where(r => r.Count > 1 || r[0].Length > 0))
        {
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            for (var i = 0; i < header.Count && i < record.Count; i++)
            {
                var value = Unescape(record[i]);
                if (ListColumns.Contains(header[i])) lists[header[i]] = value.Split(';').Select(v => v.Trim()).Where(v => v.Length > 0).ToList();
                else values[header[i]] = value;
            }
            yield return new Fields(values, lists, record.Count == header.Count ? null : $"has {record.Count} fields where the header has {header.Count}");
        }
    }

    /// <summary>Undoes the export's spreadsheet guard: a ' put before a leading =, +, -, @, tab or carriage return.</summary>
    private static string Unescape(string field) =>
        field.Length > 1 && field[0] == '\'' && field[1] is '=' or '+' or '-' or '@' or '\t' or '\r' ? field[1..] : field;

    /// <summary>RFC 4180 records, quoted fields spanning lines included (extra info may hold line breaks).</summary>
    private static List<List<string>> ReadCsv(string text)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"' && field.Length == 0) quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c is '\r' or '\n')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
            }
            else field.Append(c);
        }
        if (quoted) throw new FormatException("The file ends inside a quoted field.");
        if (field.Length > 0 || record.Count > 0)
        {
            record.Add(field.ToString());
            records.Add(record);
        }
        return records;
    }

    private static IEnumerable<Fields> JsonRows(string text)
    {
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0))
        {
            var values = new Dictionary<string, string?>(StringComparer.Ordinal);
            var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            string? problem = null;
            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException();
                foreach (var property in json.RootElement.EnumerateObject())
                {
                    if (ListColumns.Contains(property.Name))
                    {
                        if (property.Value.ValueKind == JsonValueKind.Null) continue;
                        if (property.Value.ValueKind != JsonValueKind.Array || property.Value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                            problem ??= $"{property.Name}: must be a list of strings";
                        else lists[property.Name] = property.Value.EnumerateArray().Select(v => v.GetString()!.Trim()).Where(v => v.Length > 0).ToList();
                    }
                    else if (property.Value.ValueKind == JsonValueKind.String) values[property.Name] = property.Value.GetString();
                    else if (property.Value.ValueKind != JsonValueKind.Null) problem ??= $"{property.Name}: must be a string";
                }
            }
            catch (JsonException)
            {
                // The parser's message may quote the line, and so a key.
                problem = "not a JSON object";
            }
            yield return new Fields(values, lists, problem);
        }
    }
}
