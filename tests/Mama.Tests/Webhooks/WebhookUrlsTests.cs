using System.Net;
using Mama.Webhooks;

namespace Mama.Tests.Webhooks;

public sealed class WebhookUrlsTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.9.9.9", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("224.0.0.1", true)]
    [InlineData("255.255.255.255", true)]
    [InlineData("::1", true)]
    [InlineData("::", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fc00::1", true)]
    [InlineData("fd12:3456::1", true)]
    [InlineData("ff02::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("::ffff:10.0.0.1", true)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("2002:7f00:1::", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("172.32.0.1", false)]
    [InlineData("100.128.0.1", false)]
    [InlineData("93.184.216.34", false)]
    [InlineData("::ffff:8.8.8.8", false)]
    [InlineData("2606:4700::1111", false)]
    public void PrivateLoopbackAndLinkLocalAddressesAreRecognised(string address, bool isPrivate) =>
        Assert.Equal(isPrivate, WebhookUrls.IsPrivate(IPAddress.Parse(address)));

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://10.0.0.5/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[fd00::5]/hook")]
    [InlineData("http://[::ffff:192.168.0.1]/hook")]
    public async Task PrivateUrlsAreRefusedUnlessAllowed(string url)
    {
        Assert.Contains("Mama:Webhooks:AllowPrivateNetworks", await WebhookUrls.CheckAsync(url, allowPrivateNetworks: false, CancellationToken.None));
        Assert.Null(await WebhookUrls.CheckAsync(url, allowPrivateNetworks: true, CancellationToken.None));
    }

    [Theory]
    [InlineData("https://93.184.216.34/hook")]
    [InlineData("http://[2606:4700::1111]:8443/hook?x=1")]
    public async Task PublicAddressesAreAccepted(string url) =>
        Assert.Null(await WebhookUrls.CheckAsync(url, allowPrivateNetworks: false, CancellationToken.None));
}
