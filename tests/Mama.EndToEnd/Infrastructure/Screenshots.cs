namespace Mama.EndToEnd.Infrastructure;

/// <summary>
/// The README's pictures: <c>MAMA_SCREENSHOTS=1 dotnet test tests/Mama.EndToEnd --filter FullyQualifiedName~Screenshot</c>
/// writes docs/screenshots/&lt;name&gt;.png; without the variable, saving does nothing and the tests only walk the pages.
/// Install <c>fonts-noto-cjk</c> first, or the language switch's "한국어" comes out as boxes.
/// </summary>
public static class Screenshots
{
    public static bool Enabled => Environment.GetEnvironmentVariable("MAMA_SCREENSHOTS") == "1";

    public static async Task SaveAsync(IPage page, string name)
    {
        if (!Enabled) return;
        // Fonts and MudBlazor's transitions settle before the picture; the page is otherwise already asserted.
        await page.EvaluateAsync("document.fonts.ready");
        // FocusOnNavigate focuses the h1; its focus ring is not part of the picture.
        await page.EvaluateAsync("document.activeElement?.blur()");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Folder, name + ".png"), FullPage = false, Animations = ScreenshotAnimations.Disabled });
    }

    private static string Folder
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "mama.slnx"))) root = root.Parent;
            var folder = Path.Combine(root?.FullName ?? throw new InvalidOperationException("mama.slnx not found above " + AppContext.BaseDirectory), "docs", "screenshots");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }
}
