using Mama.Audit;
using Mama.Data;
using Mama.LiteLlm;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Mama.Http;

public static class HealthChecks
{
    public static IServiceCollection AddMamaHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
            .AddCheck<AuditHealthCheck>("audit", tags: ["ready"])
            .AddCheck<ProxyVersionHealthCheck>("litellm-version", tags: ["ready"]);
        return services;
    }

    public static void MapMamaHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync }).AllowAnonymous();
    }

    /// <summary>The status on the first line, as before; then one line per check that has something to say.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var notes = report.Entries.Where(e => !string.IsNullOrEmpty(e.Value.Description)).Select(e => $"{e.Key}: {e.Value.Description}");
        return context.Response.WriteAsync(string.Join('\n', [report.Status.ToString(), .. notes]));
    }

    /// <summary>
    /// A proxy on a compromised LiteLLM release is not mama's fault and mama still works, so this stays healthy;
    /// the detail says it, for whoever reads the probe.
    /// </summary>
    private sealed class ProxyVersionHealthCheck(ProxyStatus status) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
            HealthCheckResult.Healthy(await status.CompromisedVersionAsync(ct) is { } version ? ProxyStatus.CompromisedMessage(version) : null);
    }

    private sealed class DatabaseHealthCheck(IDbContextFactory<MamaDbContext> dbFactory) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            return await db.Database.CanConnectAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The database is unreachable.");
        }
    }

    /// <summary>
    /// An instance that cannot audit refuses every audited request with 503, so a load balancer should take it out:
    /// the queue is full, a batch has been stuck past the write timeout, or the last batch failed and an insert
    /// still could not take its lock now.
    /// </summary>
    private sealed class AuditHealthCheck(AuditLog audit, IDbContextFactory<MamaDbContext> dbFactory) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            var state = audit.State();
            if (state.QueueFull) return HealthCheckResult.Unhealthy($"The audit queue is full ({state.Queued} events waiting).");
            if (state.BatchRunningFor > audit.WriteTimeout) return HealthCheckResult.Unhealthy("Writing audit events has been stuck for longer than the write timeout.");
            if (state.LastBatchFailed && !await AuditBatchWriter.CanWriteAsync(dbFactory, ct)) return HealthCheckResult.Unhealthy("Audit events cannot be written.");
            return HealthCheckResult.Healthy();
        }
    }
}
