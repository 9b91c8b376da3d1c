using Microsoft.AspNetCore.Identity;

namespace Mama.Admins;

/// <summary>A person who signs in to mama. Identity holds the password hash, lockout and security stamp.</summary>
public sealed class AdminAccount : IdentityUser
{
    /// <summary>True while the account's password was set by someone else (the bootstrap default or a reset).</summary>
    public bool MustChangePassword { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string CreatedBy { get; set; } = "";
}

public static class Roles
{
    public const string SuperAdmin = "SuperAdmin";
    public const string Admin = "Admin";
    public static readonly string[] All = [SuperAdmin, Admin];
}
