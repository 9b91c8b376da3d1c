using System.CommandLine;
using System.Text.Json;
using Mama.Audit;
using Mama.Http;

namespace Mama.Cli;

/// <summary><c>audit verify</c> and <c>audit checkpoint</c>: proving the audit log from the console.</summary>
public static partial class AuditCommands
{
    private const long ProgressEvery = 100_000;

    private static Command Verify(IServiceProvider services)
    {
        var kept = new Option<FileInfo>("--checkpoint")
        {
            Description = "A checkpoint kept outside the database (the JSON line `audit checkpoint` printed, or the values of a " +
                "'Audit checkpoint signed' log line): the chain must still match it and still hold it.",
        };
        kept.AcceptExistingOnly();
        var command = new Command("verify",
            "Walk the audit chain and report OK or the first broken event (content changed, event missing, inserted or moved, " +
            "checkpoint signature invalid or deleted, chain rewritten). Progress goes to standard error. Exit code 0 when the chain is intact, " +
            "1 when it is broken or cannot be read. Audited as audit.verify by system:cli.")
        {
            kept,
        };
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            AuditCheckpoint? external = null;
            if (parsed.GetValue(kept) is { } file)
            {
                try
                {
                    external = JsonSerializer.Deserialize<AuditCheckpointView>(await File.ReadAllTextAsync(file.FullName, ct), MamaJson.Options)?.ToCheckpoint();
                }
                catch (JsonException)
                {
                }
                if (external is null || string.IsNullOrEmpty(external.Hash) || string.IsNullOrEmpty(external.Signature))
                {
                    await Console.Error.WriteLineAsync($"--checkpoint: {file.Name} does not hold a checkpoint (seq, hash, at, key_id, signature, prev_signature).");
                    return MamaCli.UsageError;
                }
            }
            var next = ProgressEvery;
            var progress = new SyncProgress(walked =>
            {
                if (walked < next) return;
                Console.Error.WriteLine($"… {walked:N0} events checked");
                next = (walked / ProgressEvery + 1) * ProgressEvery;
            });
            var result = await services.GetRequiredService<AuditVerification>().RunAsync(Actor.Cli, progress, ct, external);
            var scope = $"{result.Checked:N0} events (seq {result.FromSeq + 1}–{result.HeadSeq}), signed through seq {result.SignedThroughSeq} by {result.Checkpoints} checkpoint(s)";
            if (result.Problem is not { } problem)
            {
                Console.Out.WriteLine($"OK: the audit log is intact: {scope}.");
                if (result.SignedThroughSeq < result.HeadSeq)
                    Console.Out.WriteLine($"Events after seq {result.SignedThroughSeq} are not signed yet; `audit checkpoint --now` signs the head.");
                return 0;
            }
            Console.Out.WriteLine($"BROKEN ({problem.Kind}{(problem.EventId is { } id ? $", event {id}" : "")}): {problem.Message}");
            Console.Out.WriteLine($"Checked before the break: {scope}.");
            return MamaCli.Failure;
        }));
        return command;
    }

    private static Command Checkpoint(IServiceProvider services)
    {
        var now = new Option<bool>("--now") { Description = "Sign the chain's head first, if it moved since the latest checkpoint." };
        var force = new Option<bool>("--force")
        {
            Description = "With --now: sign even where mama refuses to (its checks found the checkpoints or the chain changed). " +
                "Only after `audit verify` and an investigation; audited as audit.checkpoint_forced.",
        };
        var command = new Command("checkpoint",
            "Print the latest signed checkpoint as one JSON object (seq, hash, at, key_id, signature, prev_signature), to keep " +
            "outside the database: `audit verify --checkpoint <file>` later proves the chain still matches it.")
        {
            now, force,
        };
        command.SetAction((parsed, ct) => MamaCli.ReportingProblemsAsync(async () =>
        {
            var checkpoints = services.GetRequiredService<AuditCheckpoints>();
            var forced = parsed.GetValue(now) && parsed.GetValue(force);
            var latest = parsed.GetValue(now) ? await checkpoints.SignHeadAsync(now: true, ct, forced) : await checkpoints.LatestAsync(ct);
            if (forced && latest is not null)
                await services.GetRequiredService<AuditLog>().WriteAsync(new AuditEntry(Actor.Cli, "audit.checkpoint_forced", AuditResult.Success, 0,
                    Detail: new { seq = latest.Seq }), ct);
            if (latest is null)
            {
                await Console.Error.WriteLineAsync("No checkpoint has been signed yet" + (parsed.GetValue(now) ? ": the audit log holds no events." : "; `audit checkpoint --now` signs one."));
                return MamaCli.Failure;
            }
            Console.Out.WriteLine(JsonSerializer.Serialize(AuditCheckpointView.Of(latest), MamaJson.Options));
            return 0;
        }));
        return command;
    }

    /// <summary>Reports on the thread that walks, in order (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
