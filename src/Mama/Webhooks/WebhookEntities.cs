namespace Mama.Webhooks;

/// <summary>A URL that receives signed notifications of the events it asked for (super admin).</summary>
public sealed class WebhookEndpoint
{
    public long Id { get; set; }
    public required string Url { get; set; }
    /// <summary>The event types wanted, comma-joined (<see cref="WebhookEvents"/>).</summary>
    public string Events { get; set; } = "";
    /// <summary>The signing secret ("whsec_" + base64), encrypted with the key ring like LiteLLM keys: a database copy alone cannot forge deliveries.</summary>
    public byte[] SecretCiphertext { get; set; } = [];
    public string SecretEncryptionKeyId { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
}

/// <summary>
/// The durable outbox: one row per change, written in the transaction of the change itself (<see cref="WebhookOutbox"/>);
/// the dispatcher fans it out into one <see cref="WebhookDelivery"/> per endpoint that wants it. Never holds a key.
/// </summary>
public sealed class WebhookEvent
{
    public long Id { get; set; }
    /// <summary>The Standard Webhooks message id ("msg_…"): the same on every retry, so receivers can deduplicate.</summary>
    public required string MessageId { get; set; }
    public required string Type { get; set; }
    /// <summary>The JSON payload sent as the body: type, timestamp and data (user IDs and times).</summary>
    public required string Payload { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Set once the event has been fanned out into deliveries.</summary>
    public DateTimeOffset? DispatchedAt { get; set; }
}

/// <summary>One event to one endpoint, retried with backoff until delivered or, after 24 h, failed.</summary>
public sealed class WebhookDelivery
{
    public long Id { get; set; }
    public long EventId { get; set; }
    public long EndpointId { get; set; }
    public string State { get; set; } = WebhookDeliveryStates.Pending;
    public int Attempts { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }
    public int? LastStatus { get; set; }
    public string? LastError { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
}

public static class WebhookDeliveryStates
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

public static class WebhookEvents
{
    public const string UserCreated = "user.created";
    public const string UserUpdated = "user.updated";
    public const string UserDeleted = "user.deleted";
    public const string KeyRotated = "key.rotated";
    public const string KeyPreviousRevoked = "key.previous_revoked";
    public const string KeyExpiring = "key.expiring";

    public static readonly IReadOnlyList<string> All = [UserCreated, UserUpdated, UserDeleted, KeyRotated, KeyPreviousRevoked, KeyExpiring];
}
