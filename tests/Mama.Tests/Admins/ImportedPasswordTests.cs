using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Admins;

/// <summary>Admins imported from the Python mama sign in with their bcrypt-hashed old password, which mama then rehashes and, when it breaks mama's rules, makes them change.</summary>
public abstract class ImportedPasswordTests(MamaApp app)
{
    [Theory]
    [InlineData("1234", true)]
    [InlineData("a long and good imported passphrase", false)]
    public async Task AnImportedAdminSignsInWithTheOldPasswordAndMustChangeItOnlyWhenItBreaksTheRules(string old, bool mustChange)
    {
        var (username, _, client) = await app.NewAdminAsync();
        client.Dispose();
        await using (var db = app.NewDbContext())
            await db.Users.Where(a => a.UserName == username).ExecuteUpdateAsync(s => s.SetProperty(a => a.PasswordHash, BCrypt.Net.BCrypt.HashPassword(old, 4)));

        using var fresh = app.CreateClient();
        var token = await MamaApp.TokenAsync(fresh, username, old);

        Assert.Equal(mustChange, token.MustChangePassword);
        await using (var db = app.NewDbContext())
        {
            var account = await db.Users.SingleAsync(a => a.UserName == username);
            Assert.False(Mama.Admins.BcryptPasswordHasher.IsBcrypt(account.PasswordHash)); // rehashed to Identity's format
            Assert.Equal(mustChange, account.MustChangePassword);
        }
    }
}

public sealed class ImportedPasswordTestsOnSqlite(SqliteApp app) : ImportedPasswordTests(app), IClassFixture<SqliteApp>;
public sealed class ImportedPasswordTestsOnPostgres(PostgresApp app) : ImportedPasswordTests(app), IClassFixture<PostgresApp>;
