using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;

namespace Mama.Admins;

/// <summary>Length and a short deny-list, no composition rules: at least 10 characters, not the username, not "admin".</summary>
public sealed class PasswordRules : IPasswordValidator<AdminAccount>
{
    public const int MinLength = 10;
    public const string DefaultPassword = "admin";

    /// <summary>A random password for someone else to sign in with once: 20 characters without look-alikes (no l, o, 0, 1).</summary>
    public static string NewOneTimePassword() =>
        RandomNumberGenerator.GetString("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);

    public Task<IdentityResult> ValidateAsync(UserManager<AdminAccount> manager, AdminAccount user, string? password)
    {
        if (string.Equals(password, user.UserName, StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(IdentityResult.Failed(new IdentityError { Code = "PasswordIsUsername", Description = "The password must not be the username." }));
        if (string.Equals(password, DefaultPassword, StringComparison.OrdinalIgnoreCase))
            return Task.FromResult(IdentityResult.Failed(new IdentityError { Code = "PasswordIsDefault", Description = "The password must not be 'admin'." }));
        return Task.FromResult(IdentityResult.Success);
    }
}
