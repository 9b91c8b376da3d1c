using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mama.Observability;

public static class TelemetrySetup
{
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Metrics and traces leave the process only when asked for: over OTLP when the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and as <c>/metrics</c> when <c>Mama:Metrics:Prometheus</c> is on.
    /// Without either, no provider listens, so requests create no activities and record nothing.
    /// </summary>
    public static WebApplicationBuilder AddMamaTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<MamaMetrics>();
        services.AddOptions<MemoryOptions>().BindConfiguration("Mama:Memory").ValidateDataAnnotations().ValidateOnStart();
        services.AddHostedService<IdleMemoryTrim>();
        services.AddOptions<MetricsOptions>().BindConfiguration("Mama:Metrics").ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var prometheus = builder.Configuration.GetValue<bool>("Mama:Metrics:Prometheus");
        if (!otlp && !prometheus) return builder;

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("mama", serviceVersion: typeof(TelemetrySetup).Assembly.GetName().Version?.ToString()))
            .WithMetrics(m =>
            {
                m.AddMeter(MamaMetrics.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddRuntimeInstrumentation();
                // AddMeter listens by name to every such meter in the process: where several hosts share one (tests,
                // embedding), another host's instruments would join this host's streams and its disposal end them.
                // Meters made by another host's IMeterFactory are dropped; meters made without one stay.
                ((IDeferredMeterProviderBuilder)m).Configure((sp, b) =>
                {
                    var own = sp.GetRequiredService<IMeterFactory>();
                    b.AddView(i => i.Meter.Scope is IMeterFactory f && !ReferenceEquals(f, own) ? MetricStreamConfiguration.Drop : null);
                });
                // No cached answer: a scrape shows what happened up to it (the default 300 ms cache could hide it).
                if (prometheus) m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            });
        if (otlp)
        {
            telemetry.WithTracing(t => t
                .AddSource(MamaMetrics.Name)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments(MetricsPath))
                .AddHttpClientInstrumentation()
                .AddEntityFrameworkCoreInstrumentation());
            // Reads OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS and the per-signal variants itself; logs go too.
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// <c>/metrics</c>, answered before the exception handler, authentication and the audit: a scrape is neither a
    /// user's read nor an admin's, and a scraper polling every few seconds would otherwise fill the audit log.
    /// </summary>
    public static WebApplication UseMamaMetrics(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        if (!options.Prometheus)
        {
            // Plainly absent, rather than the sign-in redirect every unknown page gets (or a 401 for the scraper's token): it learns why.
            app.Use((context, next) => context.Request.Path == MetricsPath
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found",
                    detail: "Metrics are off: set Mama:Metrics:Prometheus to true and Mama:Metrics:Token.").ExecuteAsync(context)
                : next(context));
            return app;
        }
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.Token!.Trim()));
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: null,
            predicate: context => context.Request.Path == MetricsPath,
            path: null,
            configureBranchedPipeline: branch => branch.Use(async (context, next) =>
            {
                if (HasToken(context.Request, expected))
                {
                    await next(context);
                    return;
                }
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"mama metrics\"";
                await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                    detail: "/metrics needs the bearer token set in Mama:Metrics:Token.").ExecuteAsync(context);
            }),
            optionsName: null);
        return app;
    }

    /// <summary>Hashes first, so the comparison takes the same time whatever the length or the first wrong byte.</summary>
    private static bool HasToken(HttpRequest request, byte[] expected)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) return false;
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
