using Mama.Users;

namespace Mama.LiteLlm;

public sealed partial class KeySync
{
    /// <summary>
    /// The key with mama's own value first; on a proxy known to refuse custom keys, or at its first refusal, the proxy
    /// mints the user's key instead (<see cref="KeyMinting"/>), which is stored before this returns. <paramref name="absent"/>:
    /// the proxy cannot hold the stored key yet (mama made it and never sent it), so nobody asks the proxy for it first.
    /// </summary>
    private async Task EnsureOrMintAsync(User user, string key, string leaseToken, KeySpec spec, CancellationToken ct, LiteLlmKey? known = null, bool absent = false)
    {
        if (await minting.AppliesAsync(user, ct))
        {
            if ((known ?? await minting.EnsureAsync(user, leaseToken, spec, ct, knownAbsent: absent)) is { } existing)
                await EnsureKeyAsync(key, spec, ct, existing);
            return;
        }
        try
        {
            if (await EnsureKeyAsync(key, spec, ct, known, absent) == "created") await minting.NoteCustomKeyAcceptedAsync(ct);
        }
        catch (LiteLlmException e) when (KeyMinting.IsCustomKeyRefusal(e))
        {
            await minting.EnsureAsync(user, leaseToken, spec, ct, refusal: e);
        }
    }

    /// <summary>
    /// Creates the key with mama's value if LiteLLM lacks it, else updates whatever differs, merging mama's metadata fields
    /// into what the key holds. After the generate, the key is named only by its hash. Safe to repeat. <paramref name="absent"/>:
    /// the key is generated without asking for it first; one cost of a lost earlier answer, then, is one refused generate.
    /// </summary>
    public async Task<string> EnsureKeyAsync(string key, KeySpec spec, CancellationToken ct, LiteLlmKey? known = null, bool absent = false)
    {
        var hash = LiteLlmClient.HashKey(key);
        var existing = known ?? (absent ? null : await liteLlm.GetKeyByHashAsync(hash, ct));
        if (existing is null)
        {
            try
            {
                await liteLlm.GenerateKeyAsync(spec.ToGenerateRequest(key), ct);
                return "created";
            }
            catch (LiteLlmException e) when (e.Status == 400 && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase) && (absent || !IsAliasTaken(e)))
            {
                // A proxy that refuses duplicate custom keys: it was created meanwhile, so update it below, on its metadata as it is now.
                // Unasked, the alias may be taken by this very key (an earlier push whose result was lost): only another key is a conflict.
                existing = await liteLlm.GetKeyByHashAsync(hash, ct);
                if (existing is null && IsAliasTaken(e)) throw;
            }
        }
        if (existing is not null && !MayAdopt(existing, spec.Alias)) throw new KeyHeldElsewhereException();
        if (existing is not null && spec.Differences(existing).Count == 0) return "unchanged";

        try
        {
            await liteLlm.UpdateKeyByHashAsync(spec.ToUpdateRequest(hash, existing?.Metadata ?? default), ct);
            return "updated";
        }
        catch (LiteLlmKeyNotFoundException)
        {
            // Deleted between info and update: create it again.
            await liteLlm.GenerateKeyAsync(spec.ToGenerateRequest(key), ct);
            return "created";
        }
    }
}
