using System.Xml.Linq;

namespace Mama.Tests.Components;

public sealed class LocalizationTests
{
    private static readonly string ComponentsFolder = Path.Combine(RepositoryRoot(), "src", "Mama", "Components");

    public static TheoryData<string> ResourceFiles() => new(
        Directory.EnumerateFiles(ComponentsFolder, "*.resx", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".ko.resx"))
            .Select(f => Path.GetRelativePath(ComponentsFolder, f)));

    [Theory]
    [MemberData(nameof(ResourceFiles))]
    public void EveryEnglishStringHasAKoreanTranslationAndNoMore(string file)
    {
        var english = Keys(Path.Combine(ComponentsFolder, file));
        var korean = Keys(Path.Combine(ComponentsFolder, file.Replace(".resx", ".ko.resx")));
        Assert.Empty(english.Keys.Except(korean.Keys));
        Assert.Empty(korean.Keys.Except(english.Keys));
        Assert.All(korean, k => Assert.False(string.IsNullOrWhiteSpace(k.Value), k.Key));
    }

    [Fact]
    public void EveryComponentThatAsksForStringsHasThem()
    {
        // A component that injects IStringLocalizer<Self> without a resx shows its keys instead of words.
        var missing = Directory.EnumerateFiles(ComponentsFolder, "*.razor", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains($"IStringLocalizer<{Path.GetFileNameWithoutExtension(f)}>"))
            .Where(f => !File.Exists(Path.ChangeExtension(f, ".resx")))
            .Select(f => Path.GetRelativePath(ComponentsFolder, f));
        Assert.Empty(missing);
    }

    private static Dictionary<string, string> Keys(string path) =>
        XDocument.Load(path).Root!.Elements("data").ToDictionary(d => (string)d.Attribute("name")!, d => (string?)d.Element("value") ?? "");

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "mama.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("mama.slnx not found above the test binaries.");
    }
}
