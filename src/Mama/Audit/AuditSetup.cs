namespace Mama.Audit;

public static class AuditSetup
{
    public static IServiceCollection AddMamaAudit(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration("Mama:Audit").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditQueries>();
        services.AddSingleton<AuditCheckpointSigner>();
        services.AddSingleton<AuditVerifier>();
        services.AddSingleton<AuditVerification>();
        services.AddSingleton<AuditRetention>();
        services.AddSingleton<AuditCheckpoints>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditCheckpoints>());
        return services;
    }
}
