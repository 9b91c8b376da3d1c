using System.Buffers;
using System.IO.Pipelines;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Metadata;

namespace Mama.ApiClients;

/// <summary>
/// The key lookups' answers, written with <see cref="Utf8JsonWriter"/> exactly as the API's JSON options write the
/// records (snake_case names in declaration order, the default encoder, <c>previous_key</c> and its expiry left out
/// when null). A cached row keeps its user's answer as UTF-8 (<see cref="LookedUpUser.Json"/>), so a lookup served
/// from the cache copies each user's bytes instead of serialising them again.
/// </summary>
public static class LookupJson
{
    /// <summary>Bytes written before the answer is handed to the connection, so that a large answer streams with the pipe's backpressure.</summary>
    private const int FlushAt = 16 * 1024;

    private static readonly JsonEncodedText Users = Name("users"), NotFound = Name("not_found"), Denied = Name("denied"), Failed = Name("failed"), Reason = Name("reason"),
        UserId = Name("user_id"), Organization = Name("organization"), Key = Name("key"), AllowedModels = Name("allowed_models"), AllowedServices = Name("allowed_services"),
        ExtraInfo = Name("extra_info"), SyncState = Name("sync_state"), Usable = Name("usable"), Expired = Name("expired"), PreviousKey = Name("previous_key"),
        PreviousKeyExpiresAt = Name("previous_key_expires_at");

    private static JsonEncodedText Name(string name) => JsonEncodedText.Encode(name);

    /// <summary>One user's answer as UTF-8 JSON, for a cached row to keep.</summary>
    public static byte[] Serialize(LookedUpUser user)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer)) WriteUser(writer, user);
        return buffer.WrittenSpan.ToArray();
    }

    public static void WriteUser(Utf8JsonWriter writer, LookedUpUser user)
    {
        if (user.Json is { } json)
        {
            writer.WriteRawValue(json, skipInputValidation: true);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString(UserId, user.UserId);
        writer.WriteString(Organization, user.Organization);
        writer.WriteString(Key, user.Key);
        WriteStrings(writer, AllowedModels, user.AllowedModels);
        WriteStrings(writer, AllowedServices, user.AllowedServices);
        writer.WriteString(ExtraInfo, user.ExtraInfo);
        writer.WriteString(SyncState, user.SyncState);
        writer.WriteBoolean(Usable, user.Usable);
        writer.WriteBoolean(Expired, user.Expired);
        if (user.PreviousKey is not null) writer.WriteString(PreviousKey, user.PreviousKey);
        if (user.PreviousKeyExpiresAt is { } expiresAt) writer.WriteString(PreviousKeyExpiresAt, expiresAt);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A whole batch answer. The users are handed to the connection every 16 KB written, counted across the writer's
    /// own buffers (it passes each full one to the pipe unflushed), so that a large answer is sent as it is written
    /// and waits for a slow client instead of growing in memory.
    /// </summary>
    public static async Task WriteAsync(Utf8JsonWriter writer, PipeWriter body, LookupResponse response, CancellationToken ct)
    {
        writer.WriteStartObject();
        writer.WriteStartArray(Users);
        long flushedAt = 0;
        foreach (var user in response.Users)
        {
            WriteUser(writer, user);
            if (writer.BytesCommitted + writer.BytesPending - flushedAt < FlushAt) continue;
            writer.Flush();
            flushedAt = writer.BytesCommitted;
            var flushed = await body.FlushAsync(ct);
            if (flushed.IsCompleted || flushed.IsCanceled) return; // the client is gone: nobody reads the rest
        }
        writer.WriteEndArray();
        WriteStrings(writer, NotFound, response.NotFound);
        WriteStrings(writer, Denied, response.Denied);
        writer.WriteStartArray(Failed);
        foreach (var failure in response.Failed)
        {
            writer.WriteStartObject();
            writer.WriteString(UserId, failure.UserId);
            writer.WriteString(Reason, failure.Reason);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter writer, JsonEncodedText name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            writer.WriteNull(name);
            return;
        }
        writer.WriteStartArray(name);
        foreach (var value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }
}

/// <summary>
/// A 200 answer of a key lookup (<see cref="LookupResponse"/> or one <see cref="LookedUpUser"/>) written by
/// <see cref="LookupJson"/>; described in the OpenAPI document as <c>Ok&lt;T&gt;</c> would be.
/// </summary>
public sealed class LookupAnswer<T>(T value) : IResult, IEndpointMetadataProvider
    where T : class
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        var body = response.BodyWriter;
        try
        {
            await using (var writer = new Utf8JsonWriter(body))
            {
                if (value is LookupResponse many) await LookupJson.WriteAsync(writer, body, many, http.RequestAborted);
                else LookupJson.WriteUser(writer, value as LookedUpUser ?? throw new InvalidOperationException($"No lookup answer is a {typeof(T).Name}."));
            }
            await body.FlushAsync(http.RequestAborted);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left mid-answer (already audited as answered), as TypedResults.Ok lets it leave: no error.
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
}
