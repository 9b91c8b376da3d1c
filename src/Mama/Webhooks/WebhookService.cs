using System.Security.Cryptography;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Security;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Mama.Webhooks;

public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events);
public sealed record WebhookResponse(long Id, string Url, IReadOnlyList<string> Events, DateTimeOffset CreatedAt, string CreatedBy);
/// <summary>The only answer that ever carries the signing secret.</summary>
public sealed record CreatedWebhookResponse(long Id, string Url, IReadOnlyList<string> Events, DateTimeOffset CreatedAt, string CreatedBy, string Secret);
public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Items);
public sealed record WebhookDeliveryResponse(
    long Id, string EventType, string MessageId, string State, int Attempts, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt, int? LastStatus, string? LastError);
public sealed record WebhookDeliveryListResponse(IReadOnlyList<WebhookDeliveryResponse> Items);

/// <summary>Webhook endpoints (super admin): add with a secret shown once and stored encrypted, list, delete, recent deliveries.</summary>
public sealed class WebhookService(
    IDbContextFactory<MamaDbContext> dbFactory,
    KeyProtector protector,
    AuditLog audit,
    IOptions<WebhookOptions> options,
    TimeProvider clock)
{
    public const int RecentDeliveries = 50;

    public async Task<WebhookListResponse> ListAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var endpoints = await db.WebhookEndpoints.AsNoTracking().OrderBy(e => e.Id).ToListAsync(ct);
        return new WebhookListResponse(endpoints.Select(e => new WebhookResponse(e.Id, e.Url, EventsOf(e), e.CreatedAt, e.CreatedBy)).ToList());
    }

    public async Task<CreatedWebhookResponse> CreateAsync(CreateWebhookRequest request, Actor actor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (await WebhookUrls.CheckAsync(request.Url, options.Value.AllowPrivateNetworks, ct) is { } urlError) errors["url"] = [urlError];
        var events = request.Events?.Select(e => e?.Trim() ?? "").Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (events.Count == 0) errors["events"] = ["Choose at least one event: " + string.Join(", ", WebhookEvents.All) + "."];
        else if (events.Where(e => !WebhookEvents.All.Contains(e)).ToList() is { Count: > 0 } unknown)
            errors["events"] = ["Unknown: " + string.Join(", ", unknown.Select(u => $"'{u}'")) + ". Choose from " + string.Join(", ", WebhookEvents.All) + "."];
        if (errors.Count > 0)
        {
            await audit.WriteAsync(new AuditEntry(actor, "webhook.create", AuditResult.Failure, 400, Detail: new { url = Describe(request.Url), events = events.Take(10).Select(e => e.Length > 64 ? e[..64] : e) }, Reason: "invalid"), ct);
            throw ProblemException.Validation(errors);
        }

        var url = request.Url!.Trim();
        var secret = NewSecret();
        var endpoint = new WebhookEndpoint
        {
            Url = url,
            Events = string.Join(',', WebhookEvents.All.Where(events.Contains)),
            SecretCiphertext = protector.Protect(secret, SecretBinding(url)),
            SecretEncryptionKeyId = protector.CurrentKeyId,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = actor.Name,
        };
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // The audit row needs the id, known only after the insert: both in one transaction, never with the secret.
        await db.InTransactionAsync(async token =>
        {
            endpoint.Id = 0;
            db.WebhookEndpoints.Add(endpoint);
            await db.SaveChangesAsync(token);
            audit.Stage(db, new AuditEntry(actor, "webhook.create", AuditResult.Success, 201, Detail: new { id = endpoint.Id, url = Describe(url), events = EventsOf(endpoint) }));
            await db.SaveChangesAsync(token);
            return endpoint.Id;
        }, ct);
        return new CreatedWebhookResponse(endpoint.Id, endpoint.Url, EventsOf(endpoint), endpoint.CreatedAt, endpoint.CreatedBy, secret);
    }

    public async Task DeleteAsync(long id, Actor actor, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var endpoint = await db.WebhookEndpoints.SingleOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
        {
            await audit.WriteAsync(new AuditEntry(actor, "webhook.delete", AuditResult.Failure, 404, Detail: new { id }, Reason: "no such endpoint"), ct);
            throw ProblemException.NotFound($"No webhook endpoint with id {id}.");
        }
        // Its deliveries go with it (cascade): nothing more is sent there.
        db.WebhookEndpoints.Remove(endpoint);
        audit.Stage(db, new AuditEntry(actor, "webhook.delete", AuditResult.Success, 204, Detail: new { id, url = Describe(endpoint.Url) }));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            throw ProblemException.NotFound($"No webhook endpoint with id {id}.");
        }
    }

    public async Task<WebhookDeliveryListResponse> DeliveriesAsync(long id, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (!await db.WebhookEndpoints.AnyAsync(e => e.Id == id, ct)) throw ProblemException.NotFound($"No webhook endpoint with id {id}.");
        var rows = await (from d in db.WebhookDeliveries.AsNoTracking()
                          join e in db.WebhookEvents.AsNoTracking() on d.EventId equals e.Id
                          where d.EndpointId == id
                          orderby d.EventId descending
                          select new { d, e.Type, e.MessageId }).Take(RecentDeliveries).ToListAsync(ct);
        return new WebhookDeliveryListResponse(rows.Select(r => new WebhookDeliveryResponse(
            r.d.Id, r.Type, r.MessageId, r.d.State, r.d.Attempts, r.d.CreatedAt,
            r.d.State == WebhookDeliveryStates.Pending ? r.d.NextAttemptAt : null, r.d.DeliveredAt, r.d.LastStatus, r.d.LastError)).ToList());
    }

    /// <summary>The endpoint's secret, for signing. Null when it does not decrypt (another key ring, or a URL changed in the database).</summary>
    internal string? SecretOf(WebhookEndpoint endpoint) =>
        protector.TryUnprotect(endpoint.SecretCiphertext, endpoint.SecretEncryptionKeyId, SecretBinding(endpoint.Url));

    /// <summary>"whsec_" and base64 of 32 random bytes, the form Standard Webhooks libraries take.</summary>
    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static IReadOnlyList<string> EventsOf(WebhookEndpoint endpoint) =>
        endpoint.Events.Split(',', StringSplitOptions.RemoveEmptyEntries);

    // The URL is the associated data: a secret copied onto another row, or a URL rewritten in the database, no longer decrypts.
    private static string SecretBinding(string url) => "webhook:" + url;

    // Audit records where webhooks go, not the query string, which may carry the receiver's own credentials.
    private static string? Describe(string? url) =>
        Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : string.IsNullOrWhiteSpace(url) ? null : "(not a URL)";
}
