using System.Text.Json;
using Mama.Data;
using Mama.Http;
using Microsoft.EntityFrameworkCore;

namespace Mama.Audit;

/// <summary>The last verification, as its audit event recorded it.</summary>
public sealed record LastVerification(DateTimeOffset At, string Actor, bool Ok, long Checked, AuditChainProblem? Problem);

/// <summary>
/// Runs a verification of the audit chain for an admin or the CLI, one at a time per instance, and records its outcome
/// as an <c>audit.verify</c> event (which is also where the audit page reads when the log was last verified).
/// </summary>
public sealed class AuditVerification(AuditVerifier verifier, AuditLog audit, IDbContextFactory<MamaDbContext> dbFactory)
{
    public const string Action = "audit.verify";
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <param name="external">A checkpoint kept outside the database that the chain must still match.</param>
    public async Task<AuditVerifyResult> RunAsync(Actor actor, IProgress<long>? progress, CancellationToken ct, AuditCheckpoint? external = null)
    {
        if (!await _one.WaitAsync(0, ct))
            throw ProblemException.Conflict("A verification of the audit log is running already; try again when it ends.").WithCode("audit_verify_running");
        try
        {
            var result = await verifier.VerifyAsync(external, progress, ct);
            await audit.WriteAsync(new AuditEntry(actor, Action, result.Ok ? AuditResult.Success : AuditResult.Failure, 200, Detail: new Recorded(
                result.Ok, result.Checked, result.HeadSeq, result.SignedThroughSeq, result.Problem)), CancellationToken.None);
            return result;
        }
        finally
        {
            _one.Release();
        }
    }

    /// <summary>
    /// The newest verification recorded in the chain: a row written outside it, or one whose content no longer matches
    /// its hash, is not taken for a verification.
    /// </summary>
    public async Task<LastVerification?> LastAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var recent = await db.AuditEvents.AsNoTracking().Where(e => e.Action == Action && e.Seq > 0).OrderByDescending(e => e.Seq).Take(20).ToListAsync(ct);
        var anchor = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        foreach (var last in recent)
        {
            var prev = last.Seq == anchor.AnchorSeq + 1 ? anchor.AnchorHash
                : await db.AuditEvents.AsNoTracking().Where(e => e.Seq == last.Seq - 1).Select(e => e.Hash).FirstOrDefaultAsync(ct);
            if (last.Hash is null || prev is null || AuditChain.HashOf(prev, last) != last.Hash) continue;
            try
            {
                if (JsonSerializer.Deserialize<Recorded>(last.Detail, MamaJson.Options) is { } recorded)
                    return new LastVerification(last.At, last.Actor, recorded.Ok, recorded.Checked, recorded.Problem);
            }
            catch (JsonException)
            {
            }
        }
        return null;
    }

    private sealed record Recorded(bool Ok, long Checked, long HeadSeq, long SignedThroughSeq, AuditChainProblem? Problem);
}
