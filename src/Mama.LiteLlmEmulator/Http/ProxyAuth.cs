using System.Security.Cryptography;
using System.Text;
using Mama.LiteLlmEmulator.Keys;

namespace Mama.LiteLlmEmulator.Http;

/// <summary>Who called: the master key (proxy admin) or a stored virtual key.</summary>
internal sealed record Caller(string Key, string Token, bool IsAdmin);

/// <summary>user_api_key_auth: header precedence and the exact 401 bodies of CONTRACT §2.</summary>
internal static class ProxyAuth
{
    private const string NoKey = "Authentication Error, No api key passed in.";
    private const string Malformed = "Authentication Error, Malformed API Key passed in. Ensure Key has `Bearer ` prefix.";

    private static readonly string[] RawKeyHeaders = ["API-Key", "x-api-key", "x-goog-api-key", "Ocp-Apim-Subscription-Key"];

    public static Caller RequireAdmin(HttpContext context, EmulatorControl emulator)
    {
        var caller = Authenticate(context, emulator);
        if (!caller.IsAdmin)
        {
            throw new ProxyError(
                401,
                $"Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route={context.Request.Path}. Your role=internal_user_viewer.",
                "auth_error",
                "None");
        }
        return caller;
    }

    public static Caller Authenticate(HttpContext context, EmulatorControl emulator)
    {
        var key = ReadKey(context.Request.Headers);
        if (key is null)
        {
            throw new ProxyError(401, NoKey, "auth_error", "None");
        }
        if (key.Length == 0)
        {
            throw new ProxyError(401, Malformed, "auth_error", "None");
        }
        if (CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(emulator.MasterKey)))
        {
            return new Caller(key, Formats.Sha256Hex(key), IsAdmin: true);
        }
        if (!key.StartsWith("sk-", StringComparison.Ordinal))
        {
            throw new ProxyError(
                401, $"LiteLLM Virtual Key expected. Received={Formats.Mask(key)}, expected to start with 'sk-'.", "auth_error", "None");
        }

        var token = Formats.Sha256Hex(key);
        KeyRow? row;
        lock (emulator.Keys.Gate)
        {
            row = emulator.Keys.Find(token);
        }
        if (row is null)
        {
            throw new ProxyError(
                401,
                $"Authentication Error, Invalid proxy server token passed. Received API Key = {Formats.KeyName(key)}, Key Hash (Token) ={token}. Unable to find token in cache or `LiteLLM_VerificationTokenTable`",
                "token_not_found_in_db",
                "key");
        }
        if (row.IsBlocked)
        {
            throw new ProxyError(401, "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin.", "auth_error", "None");
        }
        var now = emulator.Clock.GetUtcNow();
        if (row.Expires is { } expires && expires < now)
        {
            throw new ProxyError(
                401,
                $"Authentication Error - Expired Key. Key Expiry time {PyRepr.DateTime(expires)} and current time {PyRepr.DateTime(now)}",
                "expired_key",
                Formats.KeyName(key));
        }
        return new Caller(key, token, IsAdmin: false);
    }

    /// <summary>null = no key header at all; "" = a header was there but yielded no key.</summary>
    private static string? ReadKey(IHeaderDictionary headers)
    {
        var litellm = headers["x-litellm-api-key"].ToString();
        if (litellm.Length > 0)
        {
            return StripPrefix(litellm, "Bearer ") ?? litellm;
        }
        if (headers.ContainsKey("Authorization"))
        {
            var authorization = headers.Authorization.ToString();
            return StripPrefix(authorization, "Bearer ") ?? StripPrefix(authorization, "bearer ") ?? StripPrefix(authorization, "Basic ") ?? "";
        }
        foreach (var name in RawKeyHeaders)
        {
            var value = headers[name].ToString();
            if (value.Length > 0)
            {
                return value;
            }
        }
        return null;
    }

    private static string? StripPrefix(string value, string prefix) =>
        value.StartsWith(prefix, StringComparison.Ordinal) ? value[prefix.Length..].Trim() : null;
}
