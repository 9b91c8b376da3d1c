using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Data.Common;
using System.Runtime.InteropServices;
using Mama.ApiClients;
using Mama.Audit;
using Mama.Data;
using Mama.Http;

namespace Mama.Cli;

/// <summary>
/// The verbs mama runs instead of the web server (<c>migrate</c>, <c>import python-mama</c>, <c>import users</c>,
/// <c>admin reset-password</c>, <c>admin list</c>, <c>audit export</c>, <c>users export</c>, <c>users import</c>, <c>status</c>):
/// with mama's own configuration and database, migrated first (except by <c>status</c> and <c>--help</c>); then it exits with the verb's code: 0 success, 1 failure, 2 usage
/// error. Arguments before the verb are the host's (configuration such as <c>--Database:Provider=postgres</c>), the rest the verb's.
/// </summary>
public sealed class MamaCli
{
    public const string LegacyApiKeyVariable = "MAMA_LEGACY_API_KEY";
    public const int Failure = 1;
    public const int UsageError = 2;
    private static readonly string[] Verbs = ["migrate", "import", "admin", "audit", "users", "status"];
    private readonly string[] _verbArgs;

    private MamaCli(string[] hostArgs, string[] verbArgs)
    {
        HostArgs = hostArgs;
        _verbArgs = verbArgs;
    }

    public string[] HostArgs { get; }
    public bool IsVerb => _verbArgs.Length > 0;

    /// <summary>
    /// The settings files are looked up next to the app: in the working directory when it holds them (<c>dotnet run</c>,
    /// or started from the publish folder), else in the app's own folder, so the published app starts from anywhere.
    /// An explicit <c>--contentRoot</c> or <c>ASPNETCORE_CONTENTROOT</c> still wins.
    /// </summary>
    public WebApplicationOptions HostOptions()
    {
        var explicitRoot = HostArgs.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"));
        var inWorkingDirectory = File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"));
        return new WebApplicationOptions { Args = HostArgs, ContentRootPath = explicitRoot || inWorkingDirectory ? null : AppContext.BaseDirectory };
    }

    public static MamaCli From(string[] args)
    {
        var at = Array.FindIndex(args, a => Verbs.Contains(a, StringComparer.Ordinal));
        return at < 0 ? new MamaCli(args, []) : new MamaCli(args[..at], args[at..]);
    }

    public void Configure(WebApplicationBuilder builder)
    {
        // A verb's output is its own report; the app's information logs would bury it.
        if (IsVerb) builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        // A verb reports its own failures in one line (status: "LiteLLM: UNREACHABLE …"); the retry layer's stack traces would drown it.
        if (IsVerb) builder.Configuration["Logging:LogLevel:Polly"] = "None";
        builder.Services.AddSingleton<ImportedUserWriter>();
        builder.Services.AddSingleton<PythonMamaImport>();
        builder.Services.AddSingleton<UsersFileImport>();
        builder.Services.AddSingleton<AuditExport>();
    }

    public async Task<int> RunAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var parsed = Commands(services).Parse(_verbArgs);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) await Console.Error.WriteLineAsync(error.Message);
            var path = new List<string>();
            for (var command = parsed.CommandResult; command.Command is not RootCommand; command = (CommandResult)command.Parent!)
                path.Insert(0, command.Command.Name);
            await Console.Error.WriteLineAsync($"Usage: see `{string.Join(' ', [.. path, "--help"])}`.");
            return UsageError;
        }
        // SIGTERM (docker stop, systemd, timeout) and Ctrl+C cancel the verb rather than kill the process: its finally
        // blocks then remove a partial output file (keys included) and audit how far it got. Registered here, not by
        // System.CommandLine (its handler is off by default in 2.0.0, and starts only once the action first yields,
        // which on SQLite may be never). A second signal ends the process at once.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        void Stop(PosixSignalContext context)
        {
            if (stop.IsCancellationRequested) return;
            context.Cancel = true;
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        // status reports pending migrations rather than applying them, and help needs no database at all.
        var migrates = parsed.Action is not HelpAction && parsed.CommandResult.Command.Name != "status";
        if (migrates && await ReportingProblemsAsync(async () => { await DatabaseSetup.MigrateAsync(services, stop.Token); return 0; }) != 0) return Failure;
        return await parsed.InvokeAsync(cancellationToken: stop.Token);
    }

    /// <summary>An expected failure (unknown admin, unreachable database) is one line on stderr and exit code 1, never a stack trace.</summary>
    internal static async Task<int> ReportingProblemsAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (ProblemException e)
        {
            var errors = e.Errors?.SelectMany(field => field.Value) ?? [];
            await Console.Error.WriteLineAsync(string.Join(' ', ["mama: " + e.Message, .. errors]));
        }
        catch (AuditUnavailableException e)
        {
            await Console.Error.WriteLineAsync("mama: " + e.Message);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("mama: interrupted.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync("mama: cannot write the output: " + e.Message);
        }
        catch (Exception e) when (e is DbException || e.InnerException is DbException)
        {
            await Console.Error.WriteLineAsync("mama: the database failed: " + (e as DbException ?? e.InnerException)!.Message);
        }
        return Failure;
    }

    private static RootCommand Commands(IServiceProvider services)
    {
        var migrate = new Command("migrate", "Apply the database migrations and exit (mama also migrates at start).");
        migrate.SetAction(_ => Console.WriteLine("Database migrated."));
        return new RootCommand("mama: a key manager for LiteLLM. Without a verb it runs the web server.")
        {
            migrate,
            new Command("import", "Copy users, admins and history into mama from elsewhere.") { PythonMama(services), UsersImport(services, "users", fileAsArgument: false) },
            AdminCommands.Create(services),
            AuditCommands.Create(services),
            UsersCommands.Create(services),
            StatusCommand.Create(services),
        };
    }

    /// <summary><c>import users --from &lt;file&gt;</c> and its alias <c>users import &lt;file&gt;</c>: one handler.</summary>
    internal static Command UsersImport(IServiceProvider services, string name, bool fileAsArgument)
    {
        const string fileDescription = "A file of GET /api/v1/users/export or users export: .csv, or .jsonl for JSON lines.";
        var fileArgument = new Argument<string>("file") { Description = fileDescription };
        var fileOption = new Option<string>("--from") { Description = fileDescription, Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be imported and refused; write nothing." };
        var onConflict = ConflictOption();
        var command = new Command(name, "Import users from a mama export (with include_keys=true to keep their keys; without, each gets a new key).")
        {
            dryRun, onConflict,
        };
        if (fileAsArgument) command.Add(fileArgument);
        else command.Add(fileOption);
        command.SetAction((parsed, ct) => services.GetRequiredService<UsersFileImport>().RunAsync(
            new UsersFileImportOptions((fileAsArgument ? parsed.GetValue(fileArgument) : parsed.GetValue(fileOption))!, parsed.GetValue(dryRun), ParseConflict(parsed.GetValue(onConflict))),
            Console.Out, ct));
        return command;
    }

    private static Option<string?> ConflictOption()
    {
        var onConflict = new Option<string?>("--on-conflict") { Description = "When mama already has a user of the same ID with another key: skip it, or fail it (exit code 1). Without it the run changes nothing." };
        onConflict.AcceptOnlyFromAmong("skip", "fail");
        return onConflict;
    }

    private static OnConflict ParseConflict(string? value) => value switch { "skip" => OnConflict.Skip, "fail" => OnConflict.Fail, _ => OnConflict.Refuse };

    private static Command PythonMama(IServiceProvider services)
    {
        var from = new Option<string>("--from") { Description = "The Python mama's PostgreSQL connection string (read only).", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be imported and refused; write nothing." };
        var onConflict = ConflictOption();
        // No default value factory: help prints defaults, and this one is a secret.
        var legacyKey = new Option<string?>("--legacy-api-key") { Description = $"The Python mama's SERVER_API_KEY, registered as the API client 'legacy' (or env {LegacyApiKeyVariable})." };
        var legacyScope = new Option<string>("--legacy-api-key-scope") { Description = "Scope of the 'legacy' client: all (read keys) or manage (also the users endpoints).", DefaultValueFactory = _ => "all" };
        legacyScope.AcceptOnlyFromAmong("all", "manage");

        var command = new Command("python-mama", "Import the original Python mama's database (users and keys, admins, event log, shared API key).")
        {
            from, dryRun, onConflict, legacyKey, legacyScope,
        };
        command.SetAction((parsed, ct) => services.GetRequiredService<PythonMamaImport>().RunAsync(new PythonMamaImportOptions(
            parsed.GetValue(from)!,
            parsed.GetValue(dryRun),
            ParseConflict(parsed.GetValue(onConflict)),
            NullIfEmpty(parsed.GetValue(legacyKey)) ?? NullIfEmpty(Environment.GetEnvironmentVariable(LegacyApiKeyVariable)),
            parsed.GetValue(legacyScope) == "manage" ? ApiClientScope.Manage : ApiClientScope.All), Console.Out, ct));
        return command;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
