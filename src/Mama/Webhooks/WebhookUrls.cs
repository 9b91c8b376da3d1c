using System.Net;
using System.Net.Sockets;

namespace Mama.Webhooks;

/// <summary>
/// Which URLs a webhook may be sent to: absolute http(s) without user info, and, unless
/// <see cref="WebhookOptions.AllowPrivateNetworks"/>, never an address inside mama's own networks. Checked when an
/// endpoint is added and again on every connection (<see cref="ConnectAsync"/>), so a name that later resolves elsewhere
/// (DNS rebinding) is refused too.
/// </summary>
public static class WebhookUrls
{
    public const int MaxLength = 2000;

    /// <summary>The problem with the URL's form, or null (and the parsed URL) when it may be used.</summary>
    public static string? CheckForm(string? url, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(url)) return "Give the URL that receives the webhooks.";
        if (url.Length > MaxLength) return $"At most {MaxLength} characters.";
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
            return "Must be an absolute http:// or https:// URL.";
        if (parsed.UserInfo.Length > 0) return "Must not contain a user name or password; put credentials in the path or query if the receiver needs them.";
        if (string.IsNullOrEmpty(parsed.Host)) return "Must name a host.";
        uri = parsed;
        return null;
    }

    /// <summary>The problem with the URL, resolving its host when private networks are not allowed; null when it may be used.</summary>
    public static async Task<string?> CheckAsync(string? url, bool allowPrivateNetworks, CancellationToken ct)
    {
        if (CheckForm(url, out var uri) is { } problem) return problem;
        if (allowPrivateNetworks) return null;
        IPAddress[] addresses;
        try
        {
            addresses = await ResolveAsync(uri!.DnsSafeHost, ct);
        }
        catch (SocketException)
        {
            return $"The host '{uri!.DnsSafeHost}' does not resolve.";
        }
        return addresses.Length == 0 || addresses.Any(IsPrivate)
            ? $"The host '{uri.DnsSafeHost}' is a loopback, private or link-local address; such URLs are refused unless Mama:Webhooks:AllowPrivateNetworks is true."
            : null;
    }

    /// <summary>
    /// The connection for a delivery: resolves the host itself and connects only to addresses that are allowed, so the
    /// address checked is the address used.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool allowPrivateNetworks, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = await ResolveAsync(host, ct);
        var allowed = allowPrivateNetworks ? addresses : addresses.Where(a => !IsPrivate(a)).ToArray();
        if (allowed.Length == 0)
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"Refused to connect: {host} is a loopback, private or link-local address (Mama:Webhooks:AllowPrivateNetworks is off).");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);

    /// <summary>Loopback, unspecified, private, shared (CGNAT), link-local, unique-local, multicast or reserved; IPv4 inside IPv6 counts as itself.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork) return IsPrivateV4(b);
        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast) return true;
        // ::/96 (unspecified, loopback, IPv4-compatible) and NAT64 64:ff9b::/96 carry an IPv4 address in the last four bytes; 6to4 2002::/16 in bytes 2–5.
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0) return true;
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0) return IsPrivateV4(b[12..]);
        if (b[0] == 0x20 && b[1] == 0x02) return IsPrivateV4(b[2..6]);
        return false;
    }

    private static bool IsPrivateV4(byte[] b) =>
        b[0] is 0 or 10 or 127 or >= 224
        || (b[0] == 169 && b[1] == 254)
        || (b[0] == 172 && (b[1] & 0xF0) == 16)
        || (b[0] == 192 && b[1] == 168)
        || (b[0] == 192 && b[1] == 0 && b[2] == 0)
        || (b[0] == 100 && (b[1] & 0xC0) == 64)
        || (b[0] == 198 && (b[1] & 0xFE) == 18);
}
