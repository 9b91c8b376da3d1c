using System.Security.Cryptography;
using Mama.Security;

namespace Mama.Tests.Security;

/// <summary>The AES-GCM contexts are reused across calls, so correctness must hold with many threads at once.</summary>
public sealed class KeyProtectorTests
{
    [Fact]
    public async Task ManyThreadsSealingAndOpeningAtOnceEachGetTheirOwnKeyBack()
    {
        var previous = RandomNumberGenerator.GetBytes(32);
        var protector = new KeyProtector(RandomNumberGenerator.GetBytes(32), [previous]);
        var older = new KeyProtector(previous, []);

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                var userId = $"user-{worker}-{i}";
                var key = KeyProtector.NewLiteLlmKey();
                var sealedNow = protector.Protect(key, userId);
                var sealedBefore = older.Protect(key, userId);
                if (protector.Unprotect(sealedNow, protector.CurrentKeyId, userId) != key) return false;
                if (protector.Unprotect(sealedBefore, older.CurrentKeyId, userId) != key) return false;
                // A wrong user ID (the associated data) fails, and the context used for it still works afterwards.
                if (protector.TryUnprotect(sealedNow, protector.CurrentKeyId, userId + "x") is not null) return false;
            }
            return true;
        })));

        Assert.All(results, Assert.True);
    }

    [Fact]
    public void ADamagedCiphertextDoesNotDecryptAndLeavesTheProtectorWorking()
    {
        var protector = new KeyProtector(RandomNumberGenerator.GetBytes(32), []);
        var sealedBytes = protector.Protect("sk-one", "kim");
        var damaged = sealedBytes.ToArray();
        damaged[^1] ^= 1;

        Assert.Null(protector.TryUnprotect(damaged, protector.CurrentKeyId, "kim"));
        Assert.Null(protector.TryUnprotect(sealedBytes, "unknown-key-id", "kim"));
        Assert.Equal("sk-one", protector.Unprotect(sealedBytes, protector.CurrentKeyId, "kim"));
    }
}
