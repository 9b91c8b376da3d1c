using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

public static class LiteLlmSetup
{
    public static IServiceCollection AddLiteLlm(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LiteLlmOptions>().BindConfiguration("LiteLlm").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<LiteLlmOptions>, LiteLlmOptionsValidator>();
        services.AddSingleton<IValidateOptions<LiteLlmOptions>, Users.KeyAliasPatternValidator>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<LiteLlmOptions>>().Value;
            return new LiteLlmEndpoint { BaseUrl = WithTrailingSlash(o.BaseUrl), MasterKey = o.MasterKey };
        });
        if (configuration.GetValue<bool>("LiteLlm:UseEmulator"))
            services.AddHostedService<HostedLiteLlmEmulator>(); // before the reconciler: hosted services start in order

        services.AddHttpClient<LiteLlmClient>(c => c.Timeout = Timeout.InfiniteTimeSpan)
            // Long-lived singletons hold this client; a pooled-connection lifetime keeps DNS changes visible.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .AddHttpMessageHandler<ProxyCalls.Handler>()
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions o, IServiceProvider sp) =>
            {
                var liteLlm = sp.GetRequiredService<IOptions<LiteLlmOptions>>().Value;
                o.AttemptTimeout.Timeout = liteLlm.Timeout;
                o.TotalRequestTimeout.Timeout = liteLlm.Timeout * 3 + TimeSpan.FromSeconds(1);
                o.CircuitBreaker.SamplingDuration = liteLlm.Timeout * 2 + TimeSpan.FromSeconds(10);
                o.CircuitBreaker.FailureRatio = 0.5;
                o.CircuitBreaker.MinimumThroughput = 20;
                o.CircuitBreaker.BreakDuration = liteLlm.CircuitBreakDuration;
                o.Retry.MaxRetryAttempts = 2;
                o.Retry.Delay = TimeSpan.FromMilliseconds(200);
                // generate is not idempotent at the HTTP level (a lost answer + retry hits "alias exists");
                // the sync engine retries POSTs itself, starting again from /key/info.
                o.Retry.DisableForUnsafeHttpMethods();
            });

        services.AddSingleton<ProxyCalls>();
        services.AddTransient<ProxyCalls.Handler>();
        services.AddSingleton<ProxyStatus>();
        services.AddSingleton<ProxyState>();
        services.AddSingleton<KeyMinting>();
        services.AddSingleton<Leases>();
        services.AddSingleton<KeyRotationSteps>();
        services.AddSingleton<SyncRecords>();
        services.AddSingleton<KeySync>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<KeyReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyReconciler>());
        services.AddHealthChecks().AddCheck<LiteLlmHealthCheck>("litellm", tags: ["ready"]);
        return services;
    }

    private static Uri? WithTrailingSlash(Uri? uri) =>
        uri is null || uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    /// <summary>LiteLLM down makes mama degraded, not unready: lookups and the UI still work from the database.</summary>
    private sealed class LiteLlmHealthCheck(LiteLlmClient liteLlm) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default) =>
            await liteLlm.IsAliveAsync(ct) ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded("The LiteLLM proxy is unreachable.");
    }
}
