using System.CommandLine;
using Mama.Audit;
using Mama.Users;

namespace Mama.Cli;

/// <summary><c>users export</c> (what <c>GET /api/v1/users/export</c> sends, audited the same way) and <c>users import</c> (<c>import users</c>).</summary>
public static class UsersCommands
{
    public static Command Create(IServiceProvider services) =>
        new("users", "Users from the console: export them to a file, import such a file.") { Export(services), MamaCli.UsersImport(services, "import", fileAsArgument: true) };

    private static Command Export(IServiceProvider services)
    {
        var format = new Option<string>("--format") { Description = "csv (with a byte order mark, for spreadsheets) or jsonl.", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "jsonl");
        var includeKeys = new Option<bool>("--include-keys") { Description = "Add each user's key: audited as a key disclosure of every user; a file is then readable by its owner only." };
        var search = new Option<string?>("--search") { Description = "Only users whose ID, organisation or extra info holds this text (as the users list's search)." };
        var output = OutputFile.Option();
        var command = new Command("export",
            "Write every user as GET /api/v1/users/export does (same rows, batches audited as user.read or user.read_key, then user.export), by system:cli.")
        {
            format, includeKeys, search, output,
        };
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            var keys = parsed.GetValue(includeKeys);
            var query = new UserExportQuery(parsed.GetValue(search), null, null, null, null, parsed.GetValue(format), keys);
            var path = parsed.GetValue(output);
            // The file is opened first: a first batch is audited as read only once there is somewhere to write it.
            var sent = await OutputFile.WriteAsync(path, secret: keys, async (stream, commit) =>
            {
                var export = await services.GetRequiredService<UserService>().StartExportAsync(query, Actor.Cli, ct);
                await new UserExportResult(export).WriteToAsync(stream, commit, ct);
                return export.RowsSent;
            });
            await OutputFile.ReportAsync(path, $"Exported {sent} user(s){(keys ? " with their keys" : "")}.");
            return 0;
        }));
        return command;
    }
}
