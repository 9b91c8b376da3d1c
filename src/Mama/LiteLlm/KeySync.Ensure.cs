using Mama.Users;

namespace Mama.LiteLlm;

public sealed partial class KeySync
{
    /// <summary>
    /// The key with mama's own value first; on a proxy known to refuse custom keys, or at its first refusal, the proxy
    /// mints the user's key instead (<see cref="KeyMinting"/>), which is stored before this returns.
    /// </summary>
    private async Task EnsureOrMintAsync(User user, string key, string leaseToken, KeySpec spec, CancellationToken ct, LiteLlmKey? known = null)
    {
        if (await minting.AppliesAsync(user, ct))
        {
            if ((known ?? await minting.EnsureAsync(user, leaseToken, spec, ct)) is { } existing)
                await EnsureKeyAsync(key, spec, ct, existing);
            return;
        }
        try
        {
            if (await EnsureKeyAsync(key, spec, ct, known) == "created") await minting.NoteCustomKeyAcceptedAsync(ct);
        }
        catch (LiteLlmException e) when (KeyMinting.IsCustomKeyRefusal(e))
        {
            await minting.EnsureAsync(user, leaseToken, spec, ct, refusal: e);
        }
    }

    /// <summary>
    /// Creates the key with mama's value if LiteLLM lacks it, else updates whatever differs, merging mama's metadata fields
    /// into what the key holds. After the generate, the key is named only by its hash. Safe to repeat.
    /// </summary>
    public async Task<string> EnsureKeyAsync(string key, KeySpec spec, CancellationToken ct, LiteLlmKey? known = null)
    {
        var hash = LiteLlmClient.HashKey(key);
        var existing = known ?? await liteLlm.GetKeyByHashAsync(hash, ct);
        if (existing is null)
        {
            try
            {
                await liteLlm.GenerateKeyAsync(spec.ToGenerateRequest(key), ct);
                return "created";
            }
            catch (LiteLlmException e) when (e.Status == 400 && e.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase) && !e.Message.Contains("alias", StringComparison.OrdinalIgnoreCase))
            {
                // A proxy that refuses duplicate custom keys: it was created meanwhile, so update it below, on its metadata as it is now.
                existing = await liteLlm.GetKeyByHashAsync(hash, ct);
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
