using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Mama.Admins;

/// <summary>
/// Identity's hasher that also verifies the bcrypt hashes of admins imported from the Python mama. A bcrypt match
/// asks Identity to rehash, so the first successful sign-in stores the password in Identity's own format.
/// </summary>
public sealed class BcryptPasswordHasher(IOptions<PasswordHasherOptions> options) : IPasswordHasher<AdminAccount>
{
    private readonly PasswordHasher<AdminAccount> _identity = new(options);

    public const int MaxCost = 14;

    public string HashPassword(AdminAccount user, string password) => _identity.HashPassword(user, password);

    public PasswordVerificationResult VerifyHashedPassword(AdminAccount user, string hashedPassword, string providedPassword)
    {
        if (!IsBcrypt(hashedPassword)) return _identity.VerifyHashedPassword(user, hashedPassword, providedPassword);
        // A cost above 14 would let a planted hash burn a core for minutes per sign-in attempt; Python's bcrypt writes 12.
        if (!int.TryParse(hashedPassword.AsSpan(4, 2), out var cost) || cost is < 4 or > MaxCost) return PasswordVerificationResult.Failed;
        try
        {
            return BCrypt.Net.BCrypt.Verify(providedPassword, hashedPassword)
                ? PasswordVerificationResult.SuccessRehashNeeded
                : PasswordVerificationResult.Failed;
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return PasswordVerificationResult.Failed;
        }
    }

    /// <summary>A modular-crypt bcrypt hash (<c>$2a$</c>, <c>$2b$</c>, <c>$2y$</c>), as Python's bcrypt writes; Identity's hashes are base64 and never start with '$'.</summary>
    public static bool IsBcrypt(string? hash) =>
        hash is { Length: 60 } && (hash.StartsWith("$2a$", StringComparison.Ordinal) || hash.StartsWith("$2b$", StringComparison.Ordinal) || hash.StartsWith("$2y$", StringComparison.Ordinal));
}
