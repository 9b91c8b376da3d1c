using Mama.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Audit;

/// <summary>What is wrong with the chain, at the first place it goes wrong.</summary>
/// <param name="Kind">
/// <c>content_changed</c> (the event's hash does not match its content), <c>event_missing</c> (an event before
/// <paramref name="EventId"/> is gone), <c>event_inserted</c> (<paramref name="EventId"/> was added outside the chain),
/// <c>out_of_order</c> (<paramref name="EventId"/> was moved), <c>checkpoint_invalid</c> (a checkpoint's signature is
/// wrong), <c>checkpoint_mismatch</c> (the chain was rewritten and re-hashed up to <paramref name="EventId"/>: it no longer
/// matches the checkpoint signed there).
/// </param>
public sealed record AuditChainProblem(string Kind, long? EventId, long? Seq, string Message);

/// <param name="Checked">Events walked.</param>
/// <param name="FromSeq">The anchor the walk started after: 0, or the checkpoint retention purged up to.</param>
/// <param name="SignedThroughSeq">The last checkpoint that matched: events after it are only as safe as the database.</param>
public sealed record AuditVerifyResult(
    bool Ok, long Checked, long FromSeq, long HeadSeq, long SignedThroughSeq, int Checkpoints, DateTimeOffset VerifiedAt, AuditChainProblem? Problem);

/// <summary>Walks the audit chain in sequence order, a page at a time, and reports the first thing wrong with it.</summary>
public sealed class AuditVerifier(IDbContextFactory<MamaDbContext> dbFactory, AuditCheckpointSigner signer, TimeProvider clock, IOptions<AuditOptions> options)
{
    private const int PageSize = 5_000;

    /// <param name="progress">Told the number of events walked so far, every page.</param>
    public async Task<AuditVerifyResult> VerifyAsync(IProgress<long>? progress, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Database.SetCommandTimeout(TimeSpan.FromMinutes(5));
        var head = await db.AuditChainHead.AsNoTracking().SingleAsync(ct);
        var checkpoints = await db.AuditCheckpoints.AsNoTracking().Where(c => c.Seq >= head.AnchorSeq).ToDictionaryAsync(c => c.Seq, ct);
        // Retention may only have deleted what is older than it keeps: an anchor younger than that is a deletion.
        var keptSince = options.Value.RetentionDays is { } days ? clock.GetUtcNow() - TimeSpan.FromDays(days) : DateTimeOffset.MinValue;
        var walk = new Walk(head, checkpoints, signer, keptSince);
        var result = (long @checked, AuditChainProblem? problem) => new AuditVerifyResult(problem is null, @checked, head.AnchorSeq, head.Seq,
            walk.SignedThrough, checkpoints.Count, clock.GetUtcNow(), problem);

        if (walk.CheckAnchor() is { } anchorProblem) return result(0, anchorProblem);
        var outside = await db.AuditEvents.AsNoTracking().Where(e => e.Seq == null).OrderBy(e => e.Id).Select(e => (long?)e.Id).FirstOrDefaultAsync(ct);
        if (outside is { } inserted)
            return result(0, new("event_inserted", inserted, null, $"Event {inserted} is not in the chain: it was written outside mama's audit writer."));

        long @checked = 0;
        var after = head.AnchorSeq;
        while (true)
        {
            var page = await db.AuditEvents.AsNoTracking().Where(e => e.Seq > after).OrderBy(e => e.Seq).Take(PageSize).ToListAsync(ct);
            if (page.Count == 0) break;
            for (var i = 0; i < page.Count; i++)
            {
                if (walk.Step(page[i], i + 1 < page.Count ? page[i + 1] : null) is { } problem) return result(@checked, problem);
                @checked++;
            }
            after = page[^1].Seq!.Value;
            progress?.Report(@checked);
        }
        return result(@checked, walk.Finish());
    }

    /// <summary>The state of one walk: the last two events seen and the checkpoints still ahead.</summary>
    private sealed class Walk(AuditChainHead head, Dictionary<long, AuditCheckpoint> checkpoints, AuditCheckpointSigner signer, DateTimeOffset keptSince)
    {
        private ChainPosition _prev = new(head.AnchorSeq, head.AnchorHash);
        private (long Id, string Hash)? _prevEvent;
        private string? _prevPrevHash;

        public long SignedThrough { get; private set; }

        /// <summary>After a purge the walk starts at a checkpoint, which must be signed and name the anchor.</summary>
        public AuditChainProblem? CheckAnchor()
        {
            if (head.AnchorSeq == 0) return head.AnchorHash == AuditChain.Genesis ? null : Broken("checkpoint_invalid", null, 0, "The chain's start was changed.");
            if (!checkpoints.TryGetValue(head.AnchorSeq, out var anchor) || anchor.Hash != head.AnchorHash || !signer.IsValid(anchor))
                return Broken("checkpoint_invalid", null, head.AnchorSeq, $"The chain starts at seq {head.AnchorSeq}, but no validly signed checkpoint is there.");
            if (anchor.At >= keptSince)
                return Broken("event_missing", null, head.AnchorSeq, $"Events up to seq {head.AnchorSeq} (signed {anchor.At:u}) were deleted, " +
                    "but retention (Mama:Audit:RetentionDays) keeps them: they were deleted outside it.");
            SignedThrough = anchor.Seq;
            return null;
        }

        public AuditChainProblem? Step(AuditEvent e, AuditEvent? next)
        {
            var seq = e.Seq!.Value;
            if (seq > head.Seq)
                return Broken("event_inserted", e.Id, seq, $"Event {e.Id} (seq {seq}) lies past the chain's head (seq {head.Seq}): it was added outside mama's audit writer.");
            if (AuditChain.HashOf(e.PrevHash ?? "", e) != e.Hash)
                return Broken("content_changed", e.Id, seq, $"Event {e.Id} (seq {seq}) was changed: its content no longer matches its hash.");
            if (e.PrevHash != _prev.Hash || seq != _prev.Seq + 1)
                return BrokenLink(e, next, seq);
            if (checkpoints.TryGetValue(seq, out var checkpoint))
            {
                if (!signer.IsValid(checkpoint))
                    return Broken("checkpoint_invalid", e.Id, seq, $"The checkpoint at seq {seq} (event {e.Id}) has an invalid signature.");
                if (checkpoint.Hash != e.Hash)
                    return Broken("checkpoint_mismatch", e.Id, seq, $"Event {e.Id} (seq {seq}) does not match the checkpoint signed there: " +
                        $"the chain was rewritten after seq {SignedThrough}, the last checkpoint that matches.");
                SignedThrough = seq;
            }
            _prevPrevHash = _prev.Hash;
            _prevEvent = (e.Id, e.Hash!);
            _prev = new ChainPosition(seq, e.Hash!);
            return null;
        }

        /// <summary>The event is intact but does not follow the one before it: which of missing, inserted or moved.</summary>
        private AuditChainProblem BrokenLink(AuditEvent e, AuditEvent? next, long seq)
        {
            if (_prevEvent is { } prev && _prevPrevHash is not null && e.PrevHash == _prevPrevHash)
                return Broken("event_inserted", prev.Id, seq - 1, $"Event {prev.Id} was inserted: the event after it (event {e.Id}) follows the one before it.");
            if (next is not null && next.PrevHash == _prev.Hash && e.PrevHash == next.Hash)
                return Broken("out_of_order", e.Id, seq, $"Event {e.Id} (seq {seq}) was moved: it belongs after event {next.Id}.");
            return Broken("event_missing", e.Id, seq, seq > _prev.Seq + 1
                ? $"Events with seq {_prev.Seq + 1}–{seq - 1}, before event {e.Id}, are missing."
                : $"The event before event {e.Id} (seq {seq}) is missing: it does not follow the event now before it.");
        }

        /// <summary>The last event must be the head, and no checkpoint may lie past it.</summary>
        public AuditChainProblem? Finish()
        {
            if (_prev.Seq != head.Seq || _prev.Hash != head.Hash)
                return Broken("event_missing", null, _prev.Seq + 1, $"The chain ends at seq {_prev.Seq}, but its head is at seq {head.Seq}: the last events are missing.");
            var beyond = checkpoints.Keys.Where(s => s > _prev.Seq).DefaultIfEmpty().Min();
            return beyond > 0
                ? Broken("event_missing", null, beyond, $"A checkpoint was signed at seq {beyond}, past the chain's end (seq {_prev.Seq}): events are missing.")
                : null;
        }

        private static AuditChainProblem Broken(string kind, long? eventId, long? seq, string message) => new(kind, eventId, seq, message);
    }
}
