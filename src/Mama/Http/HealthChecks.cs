using Mama.Audit;
using Mama.Data;
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
            .AddCheck<AuditHealthCheck>("audit", tags: ["ready"]);
        return services;
    }

    public static void MapMamaHealthChecks(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous();
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
