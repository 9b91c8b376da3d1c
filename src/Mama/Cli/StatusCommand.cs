using System.CommandLine;
using Mama.Data;
using Mama.LiteLlm;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Cli;

/// <summary>
/// <c>status</c>: the database (reachable, migrations pending), LiteLLM (reachable) and the sync backlog, one line each;
/// exit code 1 when the database or LiteLLM is down or the database is behind this version. It never migrates.
/// </summary>
public static class StatusCommand
{
    private static readonly TimeSpan LiteLlmBound = TimeSpan.FromSeconds(30);

    public static Command Create(IServiceProvider services)
    {
        var command = new Command("status",
            "Check the database (reachable, pending migrations), LiteLLM (reachable) and the sync backlog (pending, error, conflict). " +
            "Exit code 0 when all is well, 1 when something is down. Changes nothing.");
        command.SetAction((_, ct) => MamaCli.ReportingProblemsAsync(() => RunAsync(services, ct)));
        return command;
    }

    private static async Task<int> RunAsync(IServiceProvider services, CancellationToken ct)
    {
        var down = new List<string>();
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MamaDbContext>();
        var provider = db.Database.IsNpgsql() ? "postgres" : "sqlite";
        var reachable = await db.Database.CanConnectAsync(ct);
        if (!reachable)
        {
            Console.Out.WriteLine(provider == "sqlite"
                ? "database (sqlite): UNREACHABLE (no database file yet? mama creates it at its first start)"
                : "database (postgres): UNREACHABLE");
            down.Add("database");
        }
        else
        {
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).Count();
            Console.Out.WriteLine(pending == 0
                ? $"database ({provider}): reachable, migrations up to date"
                : $"database ({provider}): reachable, {pending} migration(s) PENDING (run `migrate`, or start mama, which migrates at start)");
            if (pending > 0) down.Add("database migrations");
        }

        if (!await CheckLiteLlmAsync(scope.ServiceProvider, ct)) down.Add("LiteLLM");

        if (reachable)
        {
            var counts = await ProxyStatus.CountBacklogAsync(db, ct);
            Console.Out.WriteLine($"sync backlog: {counts.Pending} pending, {counts.Error} error, {counts.Conflict} conflict");
        }

        Console.Out.WriteLine(down.Count == 0 ? "status: ok" : "status: DOWN (" + string.Join(", ", down) + ")");
        return down.Count == 0 ? 0 : 1;
    }

    private static async Task<bool> CheckLiteLlmAsync(IServiceProvider services, CancellationToken ct)
    {
        if (services.GetRequiredService<IOptions<LiteLlmOptions>>().Value.UseEmulator)
        {
            // The emulator lives in the server's memory; this separate process has nothing to ask.
            Console.Out.WriteLine("LiteLLM: the built-in emulator (LiteLlm:UseEmulator=true), inside the running server; not checked");
            return true;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(LiteLlmBound);
        try
        {
            var readiness = await services.GetRequiredService<LiteLlmClient>().GetReadinessAsync(bounded.Token);
            var version = readiness.LitellmVersion is { } v ? $", version {v}" : "";
            var proxyDb = readiness.Db is { } d ? $", its database {d}" : "";
            Console.Out.WriteLine($"LiteLLM: reachable{version}{proxyDb}");
            if (ProxyStatus.IsCompromised(readiness.LitellmVersion)) Console.Out.WriteLine("LiteLLM: WARNING " + ProxyStatus.CompromisedMessage(readiness.LitellmVersion!));
            return true;
        }
        catch (LiteLlmException e)
        {
            Console.Out.WriteLine($"LiteLLM: UNREACHABLE ({e.Message})");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Console.Out.WriteLine($"LiteLLM: UNREACHABLE (no answer within {LiteLlmBound.TotalSeconds:0} s)");
        }
        return false;
    }
}
