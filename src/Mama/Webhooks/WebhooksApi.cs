using Mama.Audit;
using Mama.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Mama.Webhooks;

public static class WebhooksApi
{
    public static RouteGroupBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/webhooks").WithTags("Webhooks").RequireAuthorization(Policies.SuperAdmin);
        api.MapGet("/", ListAsync).WithSummary("List webhook endpoints (never their secrets)");
        api.MapPost("/", CreateAsync).WithSummary("Add a webhook endpoint; its signing secret is in this answer only");
        api.MapDelete("/{id:long}", DeleteAsync).WithSummary("Delete a webhook endpoint; nothing more is sent to it");
        api.MapGet("/{id:long}/deliveries", DeliveriesAsync).WithSummary("The endpoint's recent deliveries, newest first");
        return api;
    }

    private static async Task<Ok<WebhookListResponse>> ListAsync(WebhookService webhooks, CancellationToken ct) =>
        TypedResults.Ok(await webhooks.ListAsync(ct));

    private static async Task<Created<CreatedWebhookResponse>> CreateAsync(CreateWebhookRequest request, HttpContext http, WebhookService webhooks, CancellationToken ct)
    {
        var created = await webhooks.CreateAsync(request, Actor.From(http), ct);
        return TypedResults.Created($"/api/v1/webhooks/{created.Id}", created);
    }

    private static async Task<NoContent> DeleteAsync(long id, HttpContext http, WebhookService webhooks, CancellationToken ct)
    {
        await webhooks.DeleteAsync(id, Actor.From(http), ct);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<WebhookDeliveryListResponse>> DeliveriesAsync(long id, WebhookService webhooks, CancellationToken ct) =>
        TypedResults.Ok(await webhooks.DeliveriesAsync(id, ct));
}
