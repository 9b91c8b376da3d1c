namespace Mama.Admins;

public static class AdminsSetup
{
    /// <summary>Admin accounts: sign-in with its lockout and per-address limit, the bootstrap super admin, the UI's actions.</summary>
    public static IServiceCollection AddMamaAdmins(this IServiceCollection services)
    {
        services.AddScoped<AdminService>();
        services.AddScoped<SignInThrottle>();
        services.AddSingleton<AdminActions>();
        services.AddSignInRateLimit();
        return services.AddSuperAdminBootstrap();
    }
}
