using System.Globalization;
using System.Text.RegularExpressions;

namespace Mama.LiteLlmEmulator.Http;

internal static partial class Durations
{
    [GeneratedRegex("^(\\d+)(s|m|h|d|w|mo)$")]
    private static partial Regex Pattern();

    public static bool TryAdd(string duration, DateTimeOffset from, out DateTimeOffset result)
    {
        result = from;
        var match = Pattern().Match(duration);
        if (!match.Success || !int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        result = match.Groups[2].Value switch
        {
            "s" => from.AddSeconds(n),
            "m" => from.AddMinutes(n),
            "h" => from.AddHours(n),
            "d" => from.AddDays(n),
            "w" => from.AddDays(7 * n),
            _ => from.AddMonths(n),
        };
        return true;
    }

    public static string InvalidMessage(string duration) =>
        $"Invalid duration '{duration}'. Use a format like '1h', '24h', '7d', or '30d'.";
}
