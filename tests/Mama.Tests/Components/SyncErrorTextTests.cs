using System.Globalization;
using System.Reflection;
using Mama.Components.Shared;
using Mama.LiteLlm;
using Mama.Users;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mama.Tests.Components;

/// <summary>mama's stored English sync errors said in the admin's language; the proxy's own words stay as they came.</summary>
public sealed class SyncErrorTextTests
{
    private const string ProxySaid = "Blocked by the \"budget\" hook {0}; see\nhttps://proxy.example/docs";

    [Theory]
    [InlineData("en", "LiteLLM refused to create the key (400). The proxy said: \"" + ProxySaid + "\"")]
    [InlineData("ko", "LiteLLM이 키 생성 요청을 거부했습니다 (400). 프록시의 응답: \"" + ProxySaid + "\"")]
    public void ARefusalNamesTheCallAndStatusAndQuotesTheProxysWordsVerbatim(string culture, string expected) =>
        Assert.Equal(expected, Describe(culture, Refusal(LiteLlmCall.GenerateKey, 400, ProxySaid)));

    [Theory]
    [InlineData("en", "LiteLLM refused to update the key (503) without saying why.")]
    [InlineData("ko", "LiteLLM이 키 수정 요청을 이유 없이 거부했습니다 (503).")]
    public void ARefusalWithoutAMessageSaysSo(string culture, string expected) =>
        Assert.Equal(expected, Describe(culture, Refusal(LiteLlmCall.UpdateKey, 503, "")));

    [Theory]
    [InlineData("en", "LiteLLM refused to frobnicate (400). The proxy said: \"no\"")]
    [InlineData("ko", "LiteLLM이 frobnicate 요청을 거부했습니다 (400). 프록시의 응답: \"no\"")]
    public void ACallWithoutATranslationIsNamedAsItCame(string culture, string expected) =>
        Assert.Equal(expected, Describe(culture, Refusal("frobnicate", 400, "no")));

    [Theory]
    [InlineData("en", LiteLlmClient.TimedOut, "LiteLLM is unreachable (timed out).")]
    [InlineData("ko", LiteLlmClient.TimedOut, "LiteLLM에 연결할 수 없습니다 (응답 시간 초과).")]
    [InlineData("ko", LiteLlmClient.CircuitOpen, "LiteLLM에 연결할 수 없습니다 (연이은 실패로 잠시 요청을 멈춤).")]
    [InlineData("ko", nameof(HttpRequestError.ConnectionError), "LiteLLM에 연결할 수 없습니다 (연결 실패).")]
    [InlineData("ko", nameof(HttpRequestError.ProxyTunnelError), "LiteLLM에 연결할 수 없습니다 (ProxyTunnelError).")]
    public void AnUnreachableProxyIsSaidWithItsReason(string culture, string reason, string expected) =>
        Assert.Equal(expected, Describe(culture, string.Format(CultureInfo.InvariantCulture, LiteLlmClient.UnreachableFormat, reason)));

    [Theory]
    [InlineData("en", "The proxy holds another key under this alias; resolve by replacing it with mama's key or importing its value.")]
    [InlineData("ko", "프록시에 이 별칭으로 다른 키가 있습니다. mama의 키로 교체하거나 그 키 값을 가져와 해결하세요.")]
    public void AFixedSentenceIsSaidInThePagesLanguage(string culture, string expected) =>
        Assert.Equal(expected, Describe(culture, KeySync.ConflictReason));

    [Theory]
    [InlineData("ko", "Something mama never says")]
    [InlineData("en", "LiteLLM refused to list keys: abc nothing")]
    [InlineData("ko", "LiteLLM is not configured. Really.")]
    public void TextOfNoKnownShapeIsShownUnchanged(string culture, string stored) =>
        Assert.Equal(stored, Describe(culture, stored));

    [Fact]
    public void NoErrorIsAnEmptyText() => Assert.Equal("", Describe("ko", null));

    [Fact]
    public void EverySentenceTheServerStoresIsRecognisedAndSaidInKorean()
    {
        var fromClient = Constants(typeof(LiteLlmClient)).Where(c => !c.Value.Contains('{') && c.Value is not (LiteLlmClient.TimedOut or LiteLlmClient.CircuitOpen));
        var reasons = Constants(typeof(KeySync), typeof(KeyRotationSteps), typeof(UserService)).Where(c => c.Name.EndsWith("Reason", StringComparison.Ordinal));
        var fixedOnes = fromClient.Concat(reasons).Select(c => c.Value).ToList();
        Assert.Equal(fixedOnes.Order(), SyncErrorText.Sentences.Keys.Order());
        foreach (var sentence in fixedOnes) Assert.True(IsKorean(Describe("ko", sentence)), sentence);

        foreach (var call in LiteLlmCall.All)
            Assert.True(IsKorean(Describe("ko", Refusal(call, 400, "x")).Split(' ')[1]), call);
        foreach (var reason in new[] { LiteLlmClient.TimedOut, LiteLlmClient.CircuitOpen })
            Assert.DoesNotContain(reason, Describe("ko", string.Format(CultureInfo.InvariantCulture, LiteLlmClient.UnreachableFormat, reason)));
    }

    private static string Refusal(string call, int status, string said) =>
        string.Format(CultureInfo.InvariantCulture, LiteLlmClient.RefusedFormat, call, status, said);

    /// <summary>The types' public string constants, by name.</summary>
    private static IEnumerable<(string Name, string Value)> Constants(params Type[] types) => types
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f is { IsLiteral: true } && f.FieldType == typeof(string))
        .Select(f => (f.Name, (string)f.GetRawConstantValue()!));

    private static bool IsKorean(string text) => text.Any(c => c is >= '\uAC00' and <= '\uD7A3');

    private static string Describe(string culture, string? stored)
    {
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
        var factory = new ResourceManagerStringLocalizerFactory(Options.Create(new LocalizationOptions()), NullLoggerFactory.Instance);
        return SyncErrorText.Describe(new StringLocalizer<SyncErrorText>(factory), stored);
    }
}
