using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using Mama.Audit;

namespace Mama.Cli;

/// <summary><c>audit export</c>: a time range of the audit log, for an auditor, as JSON lines or CSV.</summary>
public static partial class AuditCommands
{
    public static Command Create(IServiceProvider services) =>
        new("audit", "The audit log from the console: export a time range.") { Export(services) };

    private static Command Export(IServiceProvider services)
    {
        var from = Instant("--from", "The first instant (inclusive): an ISO 8601 date or date-time, UTC unless it has an offset, e.g. 2026-11-01 or 2026-11-01T09:00:00+09:00.");
        var to = Instant("--to", "The end (exclusive), in the same form: --from 2026-11-01 --to 2026-12-01 is all of November (UTC).");
        var format = new Option<string>("--format") { Description = "jsonl (one JSON object per line) or csv (the columns of the audit page's export).", Required = true };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var output = new Option<string?>("--output") { Description = "Write to this file (it appears whole, or not at all) instead of standard output." };
        var command = new Command("export",
            "Write the audit events of a time range, oldest first, streamed a page at a time. Audited as one audit.export event by system:cli.")
        {
            from, to, format, output,
        };
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            if (parsed.GetValue(from) > parsed.GetValue(to))
            {
                await Console.Error.WriteLineAsync("--from must not be after --to.\nUsage: see `audit export --help`.");
                return MamaCli.UsageError;
            }
            var export = services.GetRequiredService<AuditExport>();
            var exportFormat = parsed.GetValue(format) == "csv" ? AuditExportFormat.Csv : AuditExportFormat.Jsonl;
            var path = parsed.GetValue(output);
            var count = await OutputFile.WriteAsync(path, secret: false, (stream, commit) =>
                export.WriteAsync(stream, parsed.GetValue(from), parsed.GetValue(to), exportFormat, Actor.Cli, commit, ct));
            // The data owns standard output; the summary goes to standard error unless the data went to a file.
            var summary = $"Exported {count} audit event(s).";
            if (string.IsNullOrEmpty(path)) await Console.Error.WriteLineAsync(summary);
            else Console.Out.WriteLine($"{summary} Written to {Path.GetFullPath(path)}.");
            return 0;
        }));
        return command;
    }

    private static Option<DateTimeOffset> Instant(string name, string description) => new(name)
    {
        Description = description,
        Required = true,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (IsoInstant().IsMatch(text)
                && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                return at;
            result.AddError($"{name}: '{text}' is not an ISO 8601 date or date-time (e.g. 2026-11-01, 2026-11-01T09:00:00Z or 2026-11-01T09:00:00+09:00).");
            return default;
        },
    };

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)?)?$")]
    private static partial Regex IsoInstant();
}
