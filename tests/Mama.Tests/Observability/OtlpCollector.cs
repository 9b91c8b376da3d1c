using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mama.Tests.Observability;

/// <param name="TraceId">Lowercase hex, as in a <c>traceparent</c> header.</param>
/// <param name="Raw">The span's protobuf bytes, to look for an attribute's text in.</param>
public sealed record ExportedSpan(string TraceId, string Name, string Scope, byte[] Raw)
{
    public bool Mentions(string text) => Raw.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}

/// <summary>An OTLP/HTTP (protobuf) receiver on 127.0.0.1 that keeps the spans it is sent; reads just the fields the tests need.</summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();

    private OtlpCollector(WebApplication app) => _app = app;

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public IReadOnlyList<ExportedSpan> Spans => _spans.ToList();

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var collector = new OtlpCollector(app);
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            foreach (var span in ReadSpans(body.ToArray())) collector._spans.Enqueue(span);
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        return collector;
    }

    /// <summary>ExportTraceServiceRequest → resource_spans(1) → scope_spans(2) → scope(1).name(1) and spans(2): trace_id(1), name(5).</summary>
    private static IEnumerable<ExportedSpan> ReadSpans(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                var scope = Fields(scopeSpans, 1).Select(s => Fields(s, 1).Select(Encoding.UTF8.GetString).FirstOrDefault()).FirstOrDefault() ?? "";
                foreach (var span in Fields(scopeSpans, 2))
                    yield return new ExportedSpan(Convert.ToHexStringLower(Fields(span, 1).First()), Encoding.UTF8.GetString(Fields(span, 5).FirstOrDefault() ?? []), scope, span);
            }
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of one message; other fields are skipped.</summary>
    private static List<byte[]> Fields(byte[] message, int number)
    {
        var found = new List<byte[]>();
        var at = 0;
        while (at < message.Length)
        {
            var tag = Varint(message, ref at);
            switch (tag & 7)
            {
                case 0: Varint(message, ref at); break;
                case 1: at += 8; break;
                case 5: at += 4; break;
                case 2:
                    var length = (int)Varint(message, ref at);
                    if ((int)(tag >> 3) == number) found.Add(message[at..(at + length)]);
                    at += length;
                    break;
                default: throw new InvalidDataException($"wire type {tag & 7}");
            }
        }
        return found;
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
