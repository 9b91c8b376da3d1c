using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StandardWebhooks;

namespace Mama.Tests.Webhooks;

/// <summary>One request the receiver got: what was sent, and what it answered.</summary>
public sealed record ReceivedWebhook(string Id, IHeaderDictionary Headers, string Body, int AnsweredWith)
{
    private JsonElement Root => JsonDocument.Parse(Body).RootElement;
    public string Type => Root.GetProperty("type").GetString()!;
    public IReadOnlyList<string> UserIds => Root.GetProperty("data").GetProperty("user_ids").EnumerateArray().Select(e => e.GetString()!).ToList();
    public JsonElement Data => Root.GetProperty("data");
    /// <summary>A JSON-lines body (the audit stream's), one element per line.</summary>
    public IReadOnlyList<JsonElement> Lines => Body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    /// <summary>Verifies the signature as a consumer would, with Standard Webhooks' own check; throws if it does not hold.</summary>
    public void Verify(string secret) => new StandardWebhook(secret).Verify(Body, Headers);
}

/// <summary>A real HTTP receiver on 127.0.0.1 (Kestrel, port 0) that records every delivery and answers as the test says.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private int _inFlight, _maxInFlight;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>The status to answer for a delivery, given its webhook-id and how many times that id came before; 200 by default.</summary>
    public Func<string, int, int> Answer { get; set; } = (_, _) => 200;

    public string Url { get; private set; } = "";

    public IReadOnlyList<ReceivedWebhook> Received => _received.ToList();

    /// <summary>The most requests the receiver was ever handling at once.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>What arrived for these users, in arrival order.</summary>
    public IReadOnlyList<ReceivedWebhook> For(string userId) => Received.Where(r => r.UserIds.Contains(userId)).ToList();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks", (Delegate)receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = address.TrimEnd('/') + "/hooks?source=mama";
        return receiver;
    }

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        var inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int seen;
            while (inFlight > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, inFlight, seen) != seen) { }
            return await RecordAsync(http);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task<IResult> RecordAsync(HttpContext http)
    {
        var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
        var id = http.Request.Headers["webhook-id"].ToString();
        var headers = new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value));
        int status;
        lock (_received)
        {
            status = Answer(id, _received.Count(r => r.Id == id));
            _received.Enqueue(new ReceivedWebhook(id, headers, body, status));
        }
        return Results.StatusCode(status);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
