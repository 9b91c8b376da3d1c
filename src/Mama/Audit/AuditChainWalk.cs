using System.Text.Json;

namespace Mama.Audit;

/// <summary>One stored event as read for verification: raw columns, or <see cref="Malformed"/> when a column could not be read.</summary>
public sealed record ChainRow(long Id, long Seq, ChainContent Content, string? Hash, bool Malformed = false);

/// <summary>
/// One walk over the chain in seq order: each event must hash to its stored hash, follow the one before it, and match
/// any checkpoint signed at its seq; the checkpoints themselves form a chain. Reports the first thing wrong.
/// </summary>
internal sealed class AuditChainWalk
{
    private readonly AuditChainHead _head;
    private readonly AuditCheckpointSigner _signer;
    private readonly Dictionary<long, AuditCheckpoint> _checkpoints;
    private readonly Dictionary<long, string?> _expectedPrevSignature = [];
    private readonly AuditCheckpoint? _external;
    private ChainPosition _prev;
    private long? _prevId;
    private string? _prevPrevHash;
    private DateTimeOffset? _purgedOlderThan;

    /// <param name="checkpoints">The checkpoints from the anchor to the head, in seq order.</param>
    /// <param name="external">A checkpoint kept outside the database, which the chain must still match.</param>
    public AuditChainWalk(AuditChainHead head, IReadOnlyList<AuditCheckpoint> checkpoints, AuditCheckpointSigner signer, AuditCheckpoint? external)
    {
        _head = head;
        _signer = signer;
        _external = external;
        _prev = new ChainPosition(head.AnchorSeq, head.AnchorHash);
        _checkpoints = checkpoints.ToDictionary(c => c.Seq);
        for (var i = 0; i < checkpoints.Count; i++)
            // The first after the genesis starts the checkpoints' chain; the anchor's predecessor was purged with it.
            _expectedPrevSignature[checkpoints[i].Seq] = i > 0 ? checkpoints[i - 1].Signature : head.AnchorSeq == 0 ? "" : null;
    }

    public long SignedThrough { get; private set; }
    public DateTimeOffset? FirstEventAt { get; private set; }

    public AuditChainProblem? Start()
    {
        if (_external is { } kept)
        {
            if (!_signer.IsValid(kept))
                return new("checkpoint_invalid", null, kept.Seq, $"The checkpoint given (seq {kept.Seq}) is not validly signed with a key mama has.");
            if (kept.Seq > _head.Seq)
                return new("event_missing", null, kept.Seq, $"A checkpoint kept outside was signed at seq {kept.Seq}, past the chain's head (seq {_head.Seq}): events were deleted.");
        }
        if (_head.AnchorSeq == 0)
            return _head.AnchorHash == AuditChain.Genesis ? null : new("checkpoint_invalid", null, 0, "The chain's start was changed.");
        if (!_checkpoints.TryGetValue(_head.AnchorSeq, out var anchor) || anchor.Hash != _head.AnchorHash || !_signer.IsValid(anchor))
            return new("checkpoint_invalid", null, _head.AnchorSeq, $"The chain starts at seq {_head.AnchorSeq}, but no validly signed checkpoint is there.");
        SignedThrough = anchor.Seq;
        return null;
    }

    public AuditChainProblem? Step(ChainRow e, ChainRow? next)
    {
        FirstEventAt ??= e.Content.At;
        if (e.Seq > _head.Seq)
            return new("event_inserted", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) lies past the chain's head (seq {_head.Seq}): it was added outside mama's audit writer.");
        if (e.Malformed || e.Hash is null)
            return new("content_changed", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) was changed: its content no longer reads as mama wrote it.");
        if (e.Seq != _prev.Seq + 1 || !Follows(e, _prev.Hash))
            return BrokenLink(e, next);
        if (CheckpointAt(e) is { } problem) return problem;
        if (e.Content.Action == AuditRetention.Action && e.Seq > _head.AnchorSeq) NotePurge(e.Content.Detail);
        _prevPrevHash = _prev.Hash;
        _prevId = e.Id;
        _prev = new ChainPosition(e.Seq, e.Hash);
        return null;
    }

    /// <summary>The last event must be the head; a purge must be recorded for the anchor; the checkpoints must be there.</summary>
    public AuditChainProblem? Finish(DateTimeOffset unsignedLimit)
    {
        if (_prev.Seq != _head.Seq || _prev.Hash != _head.Hash)
            return new("event_missing", null, _prev.Seq + 1, $"The chain ends at seq {_prev.Seq}, but its head is at seq {_head.Seq}: the last events are missing.");
        if (_head.AnchorSeq > 0 && !(_checkpoints[_head.AnchorSeq].At < _purgedOlderThan))
            return new("event_missing", null, _head.AnchorSeq, $"Events up to seq {_head.AnchorSeq} were deleted, but no purge by retention that allowed it is recorded in the chain.");
        if (_checkpoints.Count == 0 && _head.Seq > 0 && FirstEventAt < unsignedLimit)
            return new("checkpoint_missing", null, _head.AnchorSeq + 1, $"No checkpoint signs any of the chain's {_head.Seq - _head.AnchorSeq} events, though the oldest is from {FirstEventAt:u}: the checkpoints were deleted.");
        return null;
    }

    private AuditChainProblem? CheckpointAt(ChainRow e)
    {
        if (_external is { } kept && kept.Seq == e.Seq)
        {
            if (kept.Hash != e.Hash)
                return new("checkpoint_mismatch", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) does not match the checkpoint kept outside: the chain was rewritten up to here.");
            if (!_checkpoints.TryGetValue(e.Seq, out var stored) || stored.Signature != kept.Signature)
                return new("checkpoint_missing", e.Id, e.Seq, $"The checkpoint kept outside (seq {e.Seq}) is no longer in the database: it was deleted.");
        }
        if (!_checkpoints.TryGetValue(e.Seq, out var checkpoint)) return null;
        if (!_signer.IsValid(checkpoint))
            return new("checkpoint_invalid", e.Id, e.Seq, $"The checkpoint at seq {e.Seq} (event {e.Id}) has an invalid signature.");
        if (_expectedPrevSignature[e.Seq] is { } expected && checkpoint.PrevSignature != expected)
            return new("checkpoint_missing", e.Id, e.Seq, $"A checkpoint before the one at seq {e.Seq} (event {e.Id}) was deleted.");
        if (checkpoint.Hash != e.Hash)
            return new("checkpoint_mismatch", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) does not match the checkpoint signed there: " +
                $"the chain was rewritten after seq {SignedThrough}, the last checkpoint that matches.");
        SignedThrough = e.Seq;
        return null;
    }

    /// <summary>
    /// The event does not follow the one before it: a gap in seq is a deletion; following the event two back means the one
    /// between was inserted; following the next one (which follows the one before) means the two were swapped; anything
    /// else is a change to its content (or a deletion hidden by renumbering, which looks the same from here).
    /// </summary>
    private AuditChainProblem BrokenLink(ChainRow e, ChainRow? next)
    {
        if (e.Seq > _prev.Seq + 1)
            return new("event_missing", e.Id, e.Seq, $"Events with seq {_prev.Seq + 1}–{e.Seq - 1}, before event {e.Id}, are missing.");
        if (_prevId is { } prevId && _prevPrevHash is not null && Follows(e, _prevPrevHash))
            return new("event_inserted", prevId, e.Seq - 1, $"Event {prevId} was inserted: the event after it (event {e.Id}) follows the one before it.");
        if (next?.Hash is not null && !next.Malformed && Follows(next, _prev.Hash) && Follows(e, next.Hash))
            return new("out_of_order", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) was moved: it belongs after event {next.Id}.");
        return new("content_changed", e.Id, e.Seq, $"Event {e.Id} (seq {e.Seq}) was changed: its content no longer matches its hash " +
            "(or the event before it was deleted and the rest renumbered).");
    }

    private static bool Follows(ChainRow e, string prevHash) => AuditChain.HashOf(prevHash, e.Content) == e.Hash;

    private void NotePurge(string detail)
    {
        try
        {
            var purge = JsonDocument.Parse(detail).RootElement;
            if (purge.GetProperty("through_seq").GetInt64() == _head.AnchorSeq) _purgedOlderThan = purge.GetProperty("older_than").GetDateTimeOffset();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // Its hash matched, so mama wrote it; a purge event it cannot read simply does not vouch for the anchor.
        }
    }
}
