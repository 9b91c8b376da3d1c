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
        new("audit", "The audit log from the console: export a time range, verify the chain, print its latest checkpoint.")
        {
            Export(services), Verify(services), Checkpoint(services),
        };

    private static Command Export(IServiceProvider services)
    {
        var from = Instant("--from", "The first instant (inclusive): an ISO 8601 date or date-time, UTC unless it has an offset, e.g. 2026-11-01 or 2026-11-01T09:00:00+09:00.");
        var to = Instant("--to", "The end (exclusive), in the same form: --from 2026-11-01 --to 2026-12-01 is all of November (UTC).");
        var format = new Option<string>("--format") { Description = "jsonl (one JSON object per line) or csv (the columns of the audit page's export).", Required = true };
        format.AcceptOnlyFromAmong("jsonl", "csv");
        var output = OutputFile.Option();
        var command = new Command("export",
            "Write the audit events of a time range, oldest first, streamed a page at a time. Audited as one audit.export event by system:cli.")
        {
            from, to, format, output,
        };
        command.Validators.Add(result =>
        {
            // Not GetValue: it throws when an instant did not parse, which is already reported.
            if (Parsed(result.GetResult(from)) is { } start && Parsed(result.GetResult(to)) is { } end && start > end)
                result.AddError("--from must not be after --to.");
        });
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            var export = services.GetRequiredService<AuditExport>();
            var exportFormat = parsed.GetValue(format) == "csv" ? AuditExportFormat.Csv : AuditExportFormat.Jsonl;
            var path = parsed.GetValue(output);
            var count = await OutputFile.WriteAsync(path, secret: false, (stream, commit) =>
                export.WriteAsync(stream, parsed.GetValue(from), parsed.GetValue(to), exportFormat, Actor.Cli, commit, ct));
            await OutputFile.ReportAsync(path, $"Exported {count} audit event(s).");
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
            if (TryParseInstant(text, out var at)) return at;
            result.AddError($"{name}: '{text}' is not an ISO 8601 date or date-time (e.g. 2026-11-01, 2026-11-01T09:00:00Z or 2026-11-01T09:00:00+09:00).");
            return default;
        },
    };

    private static DateTimeOffset? Parsed(OptionResult? option) =>
        option is { Tokens.Count: 1 } && TryParseInstant(option.Tokens[0].Value, out var at) ? at : null;

    private static bool TryParseInstant(string text, out DateTimeOffset at)
    {
        at = default;
        return IsoInstant().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at);
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)?)?$")]
    private static partial Regex IsoInstant();
}
