using Mama.Data;
using Mama.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>
/// Signs the chain's head every <c>Mama:Audit:CheckpointEvery</c> events or <c>CheckpointInterval</c>, whichever
/// comes first, on whichever instance gets there first (a checkpoint per head position, kept unique by the database);
/// and, when retention is on, deletes what it no longer keeps every <c>RetentionCheckInterval</c>.
/// Before it signs, it checks what it would vouch for: the latest checkpoint is genuine and the chain still holds it, the
/// checkpoint this instance signed last is still there, and a chain with no checkpoint at all is young. Otherwise it
/// refuses (an error in the log, once) rather than sign a chain someone rewrote after deleting its checkpoints.
/// </summary>
public sealed partial class AuditCheckpoints(
    IDbContextFactory<MamaDbContext> dbFactory,
    AuditCheckpointSigner signer,
    AuditVerifier verifier,
    AuditRetention retention,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<AuditCheckpoints> logger) : BackgroundService
{
    private AuditCheckpoint? _mine;
    private string? _refusedFor;

    public async Task<AuditCheckpoint?> LatestAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Seq).FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// Signs the head if it is due (or, with <paramref name="now"/>, if it moved since the last checkpoint); returns the
    /// latest checkpoint. Throws a 409 <see cref="ProblemException"/> when the chain must not be signed, unless
    /// <paramref name="force"/> (the CLI's break-glass, audited by its caller).
    /// </summary>
    public async Task<AuditCheckpoint?> SignHeadAsync(bool now, CancellationToken ct, bool force = false)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var last = await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Seq).FirstOrDefaultAsync(ct);
        var at = clock.GetUtcNow();
        var due = head.Seq > (last?.Seq ?? head.AnchorSeq) && (now || last is null
            || head.Seq - last.Seq >= options.Value.CheckpointEvery
            || at - last.At >= options.Value.CheckpointInterval);
        if (!due) return last;
        if (!force && await RefusalAsync(db, head, last, ct) is { } reason)
        {
            if (_refusedFor != reason) LogRefused(reason);
            _refusedFor = reason;
            throw ProblemException.Conflict($"The audit chain's head was not signed: {reason} Run `audit verify`.").WithCode("audit_checkpoint_refused");
        }
        // Checkpoints form a chain, so two signers must not both follow the same one: the head's lock orders them, held only
        // for the insert (the checks above ran without it). The head as checked is what gets signed.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await AuditChain.LockHeadAsync(db, ct);
        var latest = await db.AuditCheckpoints.AsNoTracking().OrderByDescending(c => c.Seq).FirstOrDefaultAsync(ct);
        if (latest?.Signature != last?.Signature) return latest; // another instance signed meanwhile
        var checkpoint = signer.Sign(new ChainPosition(head.Seq, head.Hash), at, last?.Signature ?? "");
        db.AuditCheckpoints.Add(checkpoint);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        _mine = checkpoint;
        _refusedFor = null;
        // At Information, so the log keeps a copy of every checkpoint outside the database (`audit verify --checkpoint`).
        LogSigned(checkpoint.Seq, checkpoint.Hash, checkpoint.At, checkpoint.KeyId, checkpoint.Signature, checkpoint.PrevSignature);
        return checkpoint;
    }

    private async Task<string?> RefusalAsync(MamaDbContext db, AuditChainHead head, AuditCheckpoint? last, CancellationToken ct)
    {
        if (_mine is { } mine && (last is null || last.Seq < mine.Seq || (last.Seq == mine.Seq && last.Signature != mine.Signature))
            && !await db.AuditCheckpoints.AnyAsync(c => c.Seq == mine.Seq && c.Signature == mine.Signature, ct))
            return $"the checkpoint this instance signed at seq {mine.Seq} is no longer in the database.";
        if (last is null)
        {
            var first = await db.AuditEvents.AsNoTracking().Where(e => e.Seq > head.AnchorSeq).OrderBy(e => e.Seq).Select(e => (DateTimeOffset?)e.At).FirstOrDefaultAsync(ct);
            return first < clock.GetUtcNow() - verifier.UnsignedGrace ? $"no checkpoint signs the chain, though its first event is from {first:u}." : null;
        }
        if (!signer.IsValid(last)) return $"the latest checkpoint (seq {last.Seq}) has an invalid signature.";
        return await verifier.CheckTailAsync(last, ct) is { } problem ? problem.Message : null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = options.Value.CheckpointInterval < TimeSpan.FromSeconds(5) ? options.Value.CheckpointInterval : TimeSpan.FromSeconds(5);
        using var timer = new PeriodicTimer(period, clock);
        var purgedAt = long.MinValue;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SignHeadAsync(now: false, stoppingToken);
            }
            catch (ProblemException)
            {
                // Refused and logged once; the head stays unsigned until someone looks.
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(e);
            }
            try
            {
                if (options.Value.RetentionDays is not null
                    && (purgedAt == long.MinValue || clock.GetElapsedTime(purgedAt) >= options.Value.RetentionCheckInterval))
                {
                    purgedAt = clock.GetTimestamp();
                    await retention.PurgeAsync(stoppingToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogFailed(e);
            }
        }
    }

    [LoggerMessage(LogLevel.Information, "Audit checkpoint signed: seq {Seq} hash {Hash} at {At:o} key {KeyId} signature {Signature} previous {PrevSignature}")]
    private partial void LogSigned(long seq, string hash, DateTimeOffset at, string keyId, string signature, string prevSignature);

    [LoggerMessage(LogLevel.Error, "Audit checkpoint refused: {Reason} The chain stays unsigned; run `audit verify`")]
    private partial void LogRefused(string reason);

    [LoggerMessage(LogLevel.Warning, "Signing an audit checkpoint or applying retention failed; trying again at the next tick")]
    private partial void LogFailed(Exception e);
}
