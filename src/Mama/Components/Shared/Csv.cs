using System.Text;

namespace Mama.Components.Shared;

/// <summary>RFC 4180 CSV: reading pasted lines (comma or tab separated) and writing exports.</summary>
public static class Csv
{
    public static string Write(IEnumerable<string> header, IEnumerable<IEnumerable<string?>> rows)
    {
        var text = new StringBuilder();
        AppendLine(text, header);
        foreach (var row in rows) AppendLine(text, row);
        return text.ToString();
    }

    /// <summary>Splits one line; a tab anywhere makes it TSV, otherwise commas with "quoted, fields".</summary>
    public static IReadOnlyList<string> SplitLine(string line)
    {
        if (line.Contains('\t')) return line.Split('\t').Select(f => f.Trim()).ToList();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"' && field.ToString().Trim().Length == 0) { field.Clear(); quoted = true; }
            else if (c == ',') { fields.Add(field.ToString().Trim()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString().Trim());
        return fields;
    }

    private static void AppendLine(StringBuilder text, IEnumerable<string?> fields)
    {
        text.AppendJoin(',', fields.Select(Field)).Append("\r\n");
    }

    /// <summary>
    /// One field of any export (users and audit alike): quoted when needed; a leading =, +, -, @, tab or carriage
    /// return (OWASP's list) gets a ' so a spreadsheet never runs it as a formula.
    /// </summary>
    public static string Field(string? field)
    {
        field ??= "";
        if (field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r') field = "'" + field;
        // ';' too: Excel in many European locales splits on it, and a cell after it could start a formula.
        return field.IndexOfAny([',', ';', '"', '\r', '\n']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
    }
}
