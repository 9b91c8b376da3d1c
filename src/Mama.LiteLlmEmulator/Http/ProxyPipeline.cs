using System.Text.Json.Nodes;
using Mama.LiteLlmEmulator.Control;

namespace Mama.LiteLlmEmulator.Http;

/// <summary>Injected faults first, then LiteLLM's exception handlers and FastAPI's 404/405 bodies.</summary>
internal static class ProxyPipeline
{
    public static IApplicationBuilder UseProxyPipeline(this IApplicationBuilder app, EmulatorControl emulator) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(ControlApi.Prefix, StringComparison.Ordinal))
            {
                await HandleErrorsAsync(context, next);
                return;
            }
            emulator.Requests.Record(context.Request);
            try
            {
                await emulator.Calls.TrackAsync(context, async () =>
                {
                    if (!await PassesFaultsAsync(context, emulator)) return false;
                    await HandleErrorsAsync(context, next);
                    return true;
                });
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The client went away while its body was read.
            }
        });

    private static async Task<bool> PassesFaultsAsync(HttpContext context, EmulatorControl emulator)
    {
        if (emulator.IsDown)
        {
            // No answer at all: the client sees the connection drop at once instead of waiting for a timeout.
            context.Abort();
            return false;
        }
        var request = context.Request;
        var chunked = request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);
        if ((chunked || request.ContentLength > 0) && !emulator.RecordBodyFraming(chunked))
        {
            await EmulatorJson.WriteAsync(context.Response, StatusCodes.Status411LengthRequired, new JsonObject { ["detail"] = "Length Required" });
            return false;
        }
        if (emulator.NoDb && request.Path.StartsWithSegments("/key", StringComparison.Ordinal))
        {
            // The shape of auth_exception_handler.py's answer when the proxy's database is unreachable (v1.104.0).
            var error = new ProxyError(
                503, "Service Unavailable, the authentication database is temporarily unreachable. Please retry shortly.", "no_db_connection", "None");
            await EmulatorJson.WriteAsync(context.Response, error.Status, error.ToJson());
            return false;
        }
        if (emulator.RefusalFor(request.Path.Value ?? "/") is { } refusal)
        {
            await RefuseAsync(context, refusal);
            return false;
        }
        var (latency, errorRate) = emulator.FaultsFor(context.Request.Path.Value ?? "/");
        if (latency > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(latency, emulator.Clock, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        if (errorRate > 0 && Random.Shared.NextDouble() < errorRate)
        {
            var error = ProxyError.Wrapped(500, "Internal Server Error. (emulated failure)");
            await EmulatorJson.WriteAsync(context.Response, error.Status, error.ToJson());
            return false;
        }
        return true;
    }

    /// <summary>A policy refusal, in the shape LiteLLM gives it: the error envelope, or FastAPI's detail list for a 422.</summary>
    private static async Task RefuseAsync(HttpContext context, Refusal refusal)
    {
        var request = context.Request;
        var key = request.Query["key"].ToString();
        if (HttpMethods.IsPost(request.Method))
        {
            request.EnableBuffering();
            try
            {
                if (await JsonNode.ParseAsync(request.Body, cancellationToken: context.RequestAborted) is JsonObject body && body["key"] is JsonValue sent
                    && sent.TryGetValue<string>(out var value))
                    key = value;
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        var message = refusal.Message.Replace("{key}", key, StringComparison.Ordinal);
        if (refusal.Status == StatusCodes.Status422UnprocessableEntity)
        {
            await EmulatorJson.WriteAsync(context.Response, refusal.Status, ValidationError.Single("value_error", ["body"], message, null).ToJson());
            return;
        }
        var type = request.Path.Value == "/key/update" ? "auth_error" : "bad_request_error";
        await EmulatorJson.WriteAsync(context.Response, refusal.Status, new ProxyError(refusal.Status, message, type, "None").ToJson());
    }

    private static async Task HandleErrorsAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (ProxyError e)
        {
            await EmulatorJson.WriteAsync(context.Response, e.Status, e.ToJson());
            return;
        }
        catch (DetailError e)
        {
            await EmulatorJson.WriteAsync(context.Response, e.Status, e.ToJson());
            return;
        }
        catch (ValidationError e)
        {
            await EmulatorJson.WriteAsync(context.Response, StatusCodes.Status422UnprocessableEntity, e.ToJson());
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var response = context.Response;
        if (!response.HasStarted && response.ContentType is null && response.StatusCode is 404 or 405)
        {
            var detail = response.StatusCode == 404 ? "Not Found" : "Method Not Allowed";
            await EmulatorJson.WriteAsync(response, response.StatusCode, new JsonObject { ["detail"] = detail });
        }
    }
}
