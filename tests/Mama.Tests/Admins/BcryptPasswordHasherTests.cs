using Mama.Admins;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Mama.Tests.Admins;

public sealed class BcryptPasswordHasherTests
{
    private static readonly BcryptPasswordHasher Hasher = new(Options.Create(new PasswordHasherOptions()));

    [Theory]
    [InlineData("old-password", "old-password", PasswordVerificationResult.SuccessRehashNeeded)]
    [InlineData("old-password", "Old-password", PasswordVerificationResult.Failed)]
    [InlineData("비밀번호-한글", "비밀번호-한글", PasswordVerificationResult.SuccessRehashNeeded)]
    public void ABcryptHashFromThePythonMamaVerifiesAndAsksForARehash(string stored, string typed, PasswordVerificationResult expected) =>
        Assert.Equal(expected, Hasher.VerifyHashedPassword(new AdminAccount(), BCrypt.Net.BCrypt.HashPassword(stored), typed));

    [Fact]
    public void AHashWithACostAboveFourteenIsRefusedWithoutBeingComputed()
    {
        var planted = BCrypt.Net.BCrypt.HashPassword("old-password", 4).Replace("$2a$04$", "$2a$31$", StringComparison.Ordinal);
        Assert.Equal(PasswordVerificationResult.Failed, Hasher.VerifyHashedPassword(new AdminAccount(), planted, "old-password"));
    }

    [Theory]
    [InlineData("new-password", "new-password", PasswordVerificationResult.Success)]
    [InlineData("new-password", "other", PasswordVerificationResult.Failed)]
    public void IdentityHashesVerifyAsBefore(string stored, string typed, PasswordVerificationResult expected) =>
        Assert.Equal(expected, Hasher.VerifyHashedPassword(new AdminAccount(), Hasher.HashPassword(new AdminAccount(), stored), typed));

    [Theory]
    [InlineData("$2b$12$abcdefghijklmnopqrstuuZKJ1.lWcx9dFbvHsQ5xVl5tCmFQ8Yd2", true)]
    [InlineData("$2y$10$abcdefghijklmnopqrstuuZKJ1.lWcx9dFbvHsQ5xVl5tCmFQ8Yd2", true)]
    [InlineData("AQAAAAIAAYagAAAAE", false)]
    [InlineData("$2b$12$short", false)]
    public void OnlyAModularCryptBcryptHashCountsAsBcrypt(string hash, bool expected) => Assert.Equal(expected, BcryptPasswordHasher.IsBcrypt(hash));
}
