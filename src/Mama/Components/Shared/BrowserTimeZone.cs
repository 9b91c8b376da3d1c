using Microsoft.JSInterop;

namespace Mama.Components.Shared;

/// <summary>
/// The time zone of the admin's browser, learnt once per circuit: its IANA zone where the server knows it, else its
/// current UTC offset, and UTC until the browser has answered (prerendering, a static page, a test without JS).
/// </summary>
public sealed class BrowserTimeZone(IJSRuntime js)
{
    private Task? _learning;
    private bool _unanswered;

    public TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>How the zone is named to the admin: "Asia/Seoul (UTC+09:00)", "UTC+09:00" or "UTC".</summary>
    public string Name { get; private set; } = "UTC";

    /// <summary>Asks the browser once; later calls wait for the same answer (or ask again if there was no browser to ask).</summary>
    public Task LearnAsync()
    {
        if (_learning is null || _unanswered)
        {
            _unanswered = false;
            _learning = AskAsync();
        }
        return _learning;
    }

    public DateTimeOffset Convert(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, Zone);

    private async Task AskAsync()
    {
        Reply? reply;
        try
        {
            reply = await js.InvokeAsync<Reply?>("mama.timeZone");
        }
        catch (Exception e) when (e is JSException or InvalidOperationException or TaskCanceledException or JSDisconnectedException or System.Text.Json.JsonException)
        {
            _unanswered = true;
            return;
        }
        if (reply is null) return;
        if (reply.Zone is { Length: > 0 } id && TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
        {
            Zone = zone;
            var offset = Offset(zone.GetUtcOffset(DateTimeOffset.UtcNow));
            Name = zone.HasSameRules(TimeZoneInfo.Utc) ? "UTC" : $"{id} ({offset})";
        }
        // The browser's word is only a display hint: an offset past ±14 h is not a time zone, and UTC stays.
        else if (reply.OffsetMinutes != 0 && Math.Abs(reply.OffsetMinutes) <= 14 * 60)
        {
            // JavaScript's getTimezoneOffset is minutes *behind* UTC: -540 in Seoul.
            var offset = TimeSpan.FromMinutes(-reply.OffsetMinutes);
            Name = Offset(offset);
            Zone = TimeZoneInfo.CreateCustomTimeZone(Name, offset, Name, Name);
        }
    }

    private static string Offset(TimeSpan offset) =>
        offset == TimeSpan.Zero ? "UTC" : $"UTC{(offset < TimeSpan.Zero ? "-" : "+")}{offset:hh\\:mm}";

    public sealed record Reply(string? Zone, int OffsetMinutes);
}
