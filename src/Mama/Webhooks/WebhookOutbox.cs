using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Mama.Data;

namespace Mama.Webhooks;

/// <summary>
/// Writes webhook events into the outbox in the caller's own unit of work: the event commits or rolls back with the
/// change it tells of (at-least-once, never for a change that did not happen). Payloads carry user IDs and times, never a key.
/// </summary>
public static class WebhookOutbox
{
    /// <summary>
    /// Adds the event to <paramref name="db"/> for the caller's SaveChanges (or its open transaction). <paramref name="data"/>
    /// is serialised with snake_case names and merged into the payload's <c>data</c> next to <c>user_ids</c>.
    /// </summary>
    public static WebhookEvent Stage(MamaDbContext db, string type, IReadOnlyCollection<string> userIds, DateTimeOffset now, object? data = null)
    {
        var body = data is null ? new JsonObject() : JsonSerializer.SerializeToNode(data, Json)!.AsObject();
        body["user_ids"] = new JsonArray(userIds.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray());
        var payload = new JsonObject
        {
            ["type"] = type,
            ["timestamp"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["data"] = body,
        };
        var row = new WebhookEvent { MessageId = NewMessageId(), Type = type, Payload = payload.ToJsonString(), CreatedAt = now };
        db.WebhookEvents.Add(row);
        return row;
    }

    public static string NewMessageId() => "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
