using MudBlazor;

namespace Mama.Components.Layout;

/// <summary>
/// The one theme of every layout. MudBlazor's default success, info, warning, error and secondary colours are too
/// light for white chip text and for coloured text on white (axe: below 4.5:1); these keep the hue at ≥ 5:1.
/// </summary>
public static class MamaTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#3949ab",
            AppbarBackground = "#283593",
            Secondary = "#ad1457",
            Info = "#1565c0",
            Success = "#2e7d32",
            Warning = "#9a5b00",
            Error = "#c62828",
            // Labels and helper texts on the light grey of filled and disabled-looking fields.
            TextSecondary = "rgba(0,0,0,0.68)",
        },
        Typography = new Typography { Default = new DefaultTypography { FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Noto Sans KR", "Roboto", "sans-serif"] } },
    };
}
