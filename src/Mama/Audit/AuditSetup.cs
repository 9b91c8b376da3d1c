using Microsoft.Extensions.Options;

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
        services.AddOptions<AuditStreamOptions>().BindConfiguration(AuditStreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditStreamOptions>, AuditStreamOptionsValidator>();
        services.AddSingleton<AuditStream>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditStream>());
        return services;
    }
}
