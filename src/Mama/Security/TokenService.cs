using System.Security.Claims;
using Mama.Admins;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Mama.Security;

/// <summary>Issues the bearer tokens of the admin API. Each token carries the account's security stamp, so a password change or a deletion revokes it.</summary>
public sealed class TokenService(IOptions<JwtOptions> options, SigningKey key, TimeProvider clock)
{
    public const string StampClaim = "stamp";
    private static readonly JsonWebTokenHandler Handler = new();

    public (string Token, int ExpiresIn) Issue(AdminAccount account, string role)
    {
        var now = clock.GetUtcNow();
        var lifetime = options.Value.Lifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = JwtOptions.Issuer,
            Audience = JwtOptions.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.Add(lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(key.Key, SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, account.Id),
                new Claim(JwtRegisteredClaimNames.Name, account.UserName!),
                new Claim("role", role),
                new Claim(StampClaim, account.SecurityStamp ?? ""),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("N")),
            ]),
        };
        return (Handler.CreateToken(descriptor), (int)lifetime.TotalSeconds);
    }
}

public sealed class SigningKey(byte[] bytes)
{
    public SymmetricSecurityKey Key { get; } = new(bytes) { KeyId = "mama" };
}
