using System.Text;
using Mama.Tests.Infrastructure;
using Mama.Users;

namespace Mama.Tests.Attack;

/// <summary>
/// The organisation filter under concurrent requests: %, _ and \ are literal, case is ignored, Hangul matches whole,
/// and an NFD-typed (decomposed, as macOS may send it) name finds the organisation stored in NFC.
/// </summary>
public abstract class OrgFilterAttackTests(MamaApp app)
{
    [Fact]
    public async Task AnOrganisationFilterWithWildcardsBackslashesOrHangulMatchesOnlyThatOrganisationUnderConcurrentRequests()
    {
        using var admin = await app.SuperAdminAsync();
        var t = Guid.NewGuid().ToString("N")[..6];
        string[] orgs =
        [
            $"a%b{t}", $"axb{t}", $"a_b{t}", $"aYb{t}", $@"a\b{t}", $@"a\\b{t}", $"a\\%b{t}", $"영업{t}", $"영업부{t}", $"ACME{t}", $"acme{t}",
            $"x{t}%", $"x{t}", $"x{t}_", $"x{t}a",
        ];
        var rows = orgs.Select((o, i) => UserTestData.Row($"of{t}-{i}", o)).ToList();
        await admin.CreateUsersAsync(rows);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 6).SelectMany(_ => orgs.Select(async o =>
        {
            var page = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString(o)}&page_size=100")).ReadAsync<UserPage>();
            var got = page.Items.Select(u => u.Organization).Distinct().Order(StringComparer.Ordinal).ToArray();
            var expected = orgs.Where(x => string.Equals(x, o, StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray();
            if (!got.SequenceEqual(expected)) failures.Add($"{o} -> [{string.Join(" | ", got)}] expected [{string.Join(" | ", expected)}]");
        })));
        // Hangul in another normalisation form (NFD: conjoining jamo), as macOS may send it.
        var nfd = $"영업{t}".Normalize(NormalizationForm.FormD);
        var decomposed = await (await admin.GetAsync($"/api/v1/users?organization={Uri.EscapeDataString(nfd)}")).ReadAsync<UserPage>();
        if (decomposed.Total != 1) failures.Add($"NFD 영업 -> {decomposed.Total}");
        var searched = await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString(nfd)}")).ReadAsync<UserPage>();
        if (searched.Total != 1) failures.Add($"search NFD 영업 -> {searched.Total}");
        Assert.True(failures.IsEmpty, string.Join("\n", failures.Distinct()));
    }
}

public sealed class OrgFilterAttackTestsOnSqlite(SqliteApp app) : OrgFilterAttackTests(app), IClassFixture<SqliteApp>;
public sealed class OrgFilterAttackTestsOnPostgres(PostgresApp app) : OrgFilterAttackTests(app), IClassFixture<PostgresApp>;
