using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mama.Security;

namespace Mama.Audit;

/// <summary>The chain's head at one moment, signed with a key the database does not hold.</summary>
public sealed class AuditCheckpoint
{
    public long Id { get; set; }
    public long Seq { get; set; }
    public required string Hash { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>The id of the encryption key the signing key was derived from (see <see cref="KeyProtector.CurrentKeyId"/>).</summary>
    public required string KeyId { get; set; }
    /// <summary>HMAC-SHA256, hex, of seq, hash, time and the previous checkpoint's signature (see <see cref="AuditCheckpointSigner"/>).</summary>
    public required string Signature { get; set; }
    /// <summary>The previous checkpoint's signature ("" for the first): checkpoints form a chain, so deleting one shows.</summary>
    public string PrevSignature { get; set; } = "";
}

/// <summary>
/// Signs checkpoints with HMAC-SHA256 under a key derived (HKDF, its own label) from <c>Mama:EncryptionKey</c>:
/// whoever can write the database but lacks that setting cannot sign a rewritten chain. After an encryption key
/// rotation, checkpoints signed with a key kept in <c>Mama:PreviousEncryptionKeys</c> still verify.
/// </summary>
public sealed class AuditCheckpointSigner(KeyProtector protector)
{
    private const string Label = "mama audit checkpoint v1";

    public AuditCheckpoint Sign(ChainPosition head, DateTimeOffset at, string prevSignature)
    {
        at = AuditChain.Truncate(at);
        var key = protector.DeriveKey(protector.CurrentKeyId, Label)!;
        return new AuditCheckpoint
        {
            Seq = head.Seq,
            Hash = head.Hash,
            At = at,
            KeyId = protector.CurrentKeyId,
            PrevSignature = prevSignature,
            Signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Message(head.Seq, head.Hash, at, prevSignature))),
        };
    }

    /// <summary>Whether the signature is right for the checkpoint's seq, hash and time under a key mama has.</summary>
    public bool IsValid(AuditCheckpoint checkpoint)
    {
        if (protector.DeriveKey(checkpoint.KeyId, Label) is not { } key) return false;
        var expected = HMACSHA256.HashData(key, Message(checkpoint.Seq, checkpoint.Hash, checkpoint.At, checkpoint.PrevSignature));
        var given = checkpoint.Signature.Length == 64 && checkpoint.Signature.All(char.IsAsciiHexDigitLower)
            ? Convert.FromHexString(checkpoint.Signature)
            : [];
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static byte[] Message(long seq, string hash, DateTimeOffset at, string prevSignature) => Encoding.UTF8.GetBytes(
        $"mama-audit-checkpoint-v1\n{seq.ToString(CultureInfo.InvariantCulture)}\n{hash}\n{at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)}\n{prevSignature}");
}
