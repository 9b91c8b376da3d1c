using Mama.Admins;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Users;

namespace Mama.Cli;

/// <summary>A source row that will not be imported, and why. Never holds a key or a password hash.</summary>
public sealed record Refusal(string Table, int SourceId, string Row, string Reason);

/// <summary>A source user that passed every rule, in mama's form.</summary>
public sealed record UserToImport(SourceUser Source, string UserId, string KeyHash, List<string> Models, List<string> Services);

public sealed record AdminToImport(SourceAdmin Source, bool MustChangePassword);

/// <summary>The checks of an import that need no database: mama's rules for every row, and duplicates within the source.</summary>
public static class PythonMamaPlan
{
    public const string DefaultAdminName = "mama";
    public const string DefaultAdminPassword = "mama";

    public static (List<UserToImport> Valid, List<Refusal> Refused) CheckUsers(IReadOnlyList<SourceUser> users)
    {
        var refused = new List<Refusal>();
        var valid = new List<UserToImport>();
        foreach (var user in users)
        {
            var id = UserValidation.NormalizeUserId(user.UserId) ?? "";
            var models = user.Models.Select(m => m.Trim()).Distinct(StringComparer.Ordinal).ToList();
            var services = user.Services.Select(s => s.Trim()).Distinct(StringComparer.Ordinal).ToList();
            var problem = UserValidation.CheckNewUserId(id, null) is { } idProblem ? "user ID: " + idProblem
                : UserValidation.CheckKey(user.KeyValue) is { } keyProblem ? "key: " + keyProblem
                : UserValidation.CheckOrganization(user.Organization) is { } orgProblem ? "organization: " + orgProblem
                : UserValidation.CheckExtraInfo(user.ExtraInfo) is { } extraProblem ? "extra_info: " + extraProblem
                : models.Select(UserValidation.CheckName).FirstOrDefault(p => p is not null) is { } modelProblem ? "allowed model: " + modelProblem
                : services.Select(UserValidation.CheckName).FirstOrDefault(p => p is not null) is { } serviceProblem ? "allowed service: " + serviceProblem
                : null;
            if (problem is not null) refused.Add(UserRefusal(user, problem));
            else valid.Add(new UserToImport(user, id, LiteLlmClient.HashKey(user.KeyValue), models, services));
        }

        // Two rows that become one ID, or share one key: which one is meant is the operator's call, so neither is taken.
        var clashes = valid.GroupBy(u => u.UserId, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .SelectMany(g => g.Select(u => (u, $"user ID: the same as row(s) {string.Join(", ", g.Where(o => o != u).Select(o => o.Source.Id))} after Unicode NFC normalisation")))
            .Concat(valid.GroupBy(u => u.KeyHash).Where(g => g.Count() > 1)
                .SelectMany(g => g.Select(u => (u, $"key: the same key as row(s) {string.Join(", ", g.Where(o => o != u).Select(o => o.Source.Id))}"))))
            .ToList();
        foreach (var (user, reason) in clashes.DistinctBy(c => c.u))
        {
            refused.Add(UserRefusal(user.Source, reason));
            valid.Remove(user);
        }
        return (valid, refused);
    }

    public static (List<AdminToImport> Valid, List<Refusal> Refused) CheckAdmins(IReadOnlyList<SourceAdmin> admins, string allowedNameCharacters)
    {
        var refused = new List<Refusal>();
        var valid = new List<AdminToImport>();
        foreach (var admin in admins)
        {
            var row = $"admin '{TextRules.Printable(admin.Username)}' (row {admin.Id})";
            if (admin.Username.Length == 0 || admin.Username.Any(c => !allowedNameCharacters.Contains(c)))
                refused.Add(new Refusal("admins", admin.Id, row, "username: mama admin names use only letters a–z, A–Z, digits, '.', '_', '@' and '-'."));
            else if (!BcryptPasswordHasher.IsBcrypt(admin.Password))
                refused.Add(new Refusal("admins", admin.Id, row, "password: not a bcrypt hash."));
            else
                valid.Add(new AdminToImport(admin, admin.Username == DefaultAdminName && VerifiesDefault(admin.Password)));
        }
        return (valid, refused);
    }

    private static bool VerifiesDefault(string hash)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(DefaultAdminPassword, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }

    public static Refusal UserRefusal(SourceUser user, string reason) =>
        new("users", user.Id, $"user '{TextRules.Printable(user.UserId)}' (row {user.Id})", reason);
}
