using System.Net;
using System.Net.Sockets;

namespace Mama.Security;

/// <summary>
/// Who counts as one client for throttling: an IPv4 address, or an IPv6 /64 (one host or site is routinely given a
/// whole /64, so counting single IPv6 addresses would let it change address at every request).
/// </summary>
public static class ClientAddress
{
    public static string Key(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4().ToString();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }
}
