using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using IPNetwork = System.Net.IPNetwork;

namespace Mama.Http;

/// <summary>
/// Behind a TLS-terminating proxy, the scheme and the client's address come from <c>X-Forwarded-Proto</c> and
/// <c>X-Forwarded-For</c>, believed only when the connection comes from a trusted proxy: loopback by default, or
/// exactly the addresses and networks in <c>ForwardedHeaders:KnownProxies</c> / <c>ForwardedHeaders:KnownNetworks</c>.
/// </summary>
public static class ForwardedHeadersSetup
{
    public const string ProxiesSetting = "ForwardedHeaders:KnownProxies";
    public const string NetworksSetting = "ForwardedHeaders:KnownNetworks";

    public static IServiceCollection AddMamaForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = Values(configuration, ProxiesSetting);
        var networks = Values(configuration, NetworksSetting);
        var problems = proxies.Where(p => !IPAddress.TryParse(p, out _)).Select(p => $"{ProxiesSetting} holds '{p}', which is not an IP address.")
            .Concat(networks.Where(n => !IPNetwork.TryParse(n, out _)).Select(n => $"{NetworksSetting} holds '{n}', which is not a network in CIDR notation (10.0.0.0/8)."))
            .ToList();
        services.AddOptions<ForwardedHeadersOptions>()
            .Configure(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                // Every hop is checked against the trusted list, so a chain of trusted proxies may be unwound.
                o.ForwardLimit = null;
                if (proxies.Count == 0 && networks.Count == 0) return;
                o.KnownProxies.Clear();
                o.KnownIPNetworks.Clear();
                foreach (var proxy in proxies.Where(p => IPAddress.TryParse(p, out _))) o.KnownProxies.Add(IPAddress.Parse(proxy));
                foreach (var network in networks.Where(n => IPNetwork.TryParse(n, out _))) o.KnownIPNetworks.Add(IPNetwork.Parse(network));
            })
            .Validate(_ => problems.Count == 0, string.Join(" ", problems))
            .ValidateOnStart();
        return services;
    }

    /// <summary>Runs first, so that everything after it (cookies, redirects, HSTS, the audit) sees the client's view.</summary>
    public static IApplicationBuilder UseMamaForwardedHeaders(this IApplicationBuilder app) => app.UseForwardedHeaders();

    /// <summary>A comma-separated value (handy in an environment variable) or an array.</summary>
    private static List<string> Values(IConfiguration configuration, string key)
    {
        var section = configuration.GetSection(key);
        var values = section.Value is { } single ? single.Split(',') : section.GetChildren().Select(c => c.Value ?? "");
        return [.. values.Select(v => v.Trim()).Where(v => v.Length > 0)];
    }
}
