using Microsoft.AspNetCore.Identity;

namespace Mama.Admins;

public static class AdminsSetup
{
    /// <summary>Admin accounts: sign-in with its lockout and per-address limit, the bootstrap super admin, the UI's actions.</summary>
    public static IServiceCollection AddMamaAdmins(this IServiceCollection services)
    {
        // Replaces Identity's hasher: admins imported from the Python mama keep their bcrypt hashes until they sign in.
        services.AddSingleton<IPasswordHasher<AdminAccount>, BcryptPasswordHasher>();
        services.AddScoped<AdminService>();
        services.AddScoped<SignInThrottle>();
        services.AddSingleton<AdminActions>();
        services.AddSignInRateLimit();
        return services.AddSuperAdminBootstrap();
    }
}
