using System.Globalization;

namespace Mama.Rotation;

/// <summary>A grace window as people write it: <c>0</c>, ISO 8601 (<c>PT24H</c>, <c>P7D</c>), <c>hh:mm:ss</c> / <c>d.hh:mm:ss</c>, or <c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>.</summary>
public static class GraceParser
{
    public static bool TryParse(string? text, out TimeSpan grace)
    {
        grace = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        if (text.StartsWith('P') || text.StartsWith('p'))
        {
            try
            {
                grace = System.Xml.XmlConvert.ToTimeSpan(text.ToUpperInvariant());
                return grace >= TimeSpan.Zero;
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                return false;
            }
        }
        if (char.ToLowerInvariant(text[^1]) is 's' or 'm' or 'h' or 'd' && long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 100_000)
        {
            grace = char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
            return true;
        }
        if (text == "0") return true;
        return TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out grace) && grace >= TimeSpan.Zero;
    }

    /// <summary>The window as the API writes it back: ISO 8601.</summary>
    public static string Format(TimeSpan grace) => System.Xml.XmlConvert.ToString(grace);
}
