using System.Globalization;
using System.Text.RegularExpressions;
using Mama.Audit;
using Mama.Data;
using Mama.Http;
using Mama.Sessions;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Mama.Admins;

/// <summary>Sign-in, passwords and admin accounts, for the API and the UI alike. Every outcome is audited.</summary>
public sealed partial class AdminService(
    UserManager<AdminAccount> accounts,
    MamaDbContext db,
    SignInThrottle throttle,
    AuditLog audit,
    SessionService sessions,
    TimeProvider clock,
    ILogger<AdminService> logger)
{
    public const string LoginAction = "auth.login";
    private const string InvalidCredentials = "Invalid username or password.";

    /// <summary>
    /// Checks a username and password; throws 401 (the same answer for an unknown name and a wrong password) or 423
    /// when the name is locked. Unknown names are counted and locked like real ones, and audited without the name.
    /// </summary>
    public async Task<SignedInAdmin> AuthenticateAsync(string? username, string? password, Actor origin, CancellationToken ct = default)
    {
        RequireFields(("username", username), ("password", password));
        var nameHash = throttle.HashName(username!);
        var account = await accounts.FindByNameAsync(username!);
        // What was typed as a username may be a password: only a real account's own name is ever recorded.
        var who = origin with { Name = account?.UserName ?? "anonymous" };
        var about = account is null ? new { unknown_username = nameHash[..16] } : null;

        var attempt = await throttle.BeginAsync(nameHash, ct);
        // The attempt is counted whether or not the client stays for the answer, so its event is written regardless too.
        if (!attempt.MayProceed)
        {
            await audit.WriteAsync(new AuditEntry(who, LoginAction, AuditResult.Denied, 423, Detail: about, Reason: "locked out"), CancellationToken.None);
            throw LockedOut(attempt);
        }

        // An unknown name spends the same hashing time as a real check, so timing does not tell which names exist.
        if (account is null) accounts.PasswordHasher.VerifyHashedPassword(new AdminAccount(), DummyHash.Value, password!);
        var wasBcrypt = BcryptPasswordHasher.IsBcrypt(account?.PasswordHash);
        if (account is null || !await accounts.CheckPasswordAsync(account, password!))
        {
            var reason = (account is null ? "unknown username" : "wrong password") + (attempt.LocksOnFailure ? "; now locked" : "");
            await audit.WriteAsync(new AuditEntry(who, LoginAction, AuditResult.Failure, 401, Detail: about, Reason: reason), CancellationToken.None);
            throw ProblemException.Unauthorized(InvalidCredentials);
        }

        await throttle.SucceededAsync(nameHash, ct);
        if (wasBcrypt && !account.MustChangePassword && !await MeetsPasswordRulesAsync(account, password!))
        {
            // The Python mama had no password rules: an imported admin whose old password fails mama's must choose another.
            account.MustChangePassword = true;
            await accounts.UpdateAsync(account);
        }
        await audit.WriteAsync(new AuditEntry(who, LoginAction, AuditResult.Success, 200), ct);
        return new SignedInAdmin(account!, await RoleOfAsync(account!));
    }

    private async Task<bool> MeetsPasswordRulesAsync(AdminAccount account, string password)
    {
        foreach (var validator in accounts.PasswordValidators)
            if (!(await validator.ValidateAsync(accounts, account, password)).Succeeded) return false;
        return true;
    }

    public async Task<MeResponse> GetMeAsync(string username)
    {
        var account = await accounts.FindByNameAsync(username) ?? throw ProblemException.Unauthorized("The account no longer exists.");
        return new MeResponse(account.UserName!, await RoleOfAsync(account), account.MustChangePassword);
    }

    public async Task ChangeOwnPasswordAsync(string username, string? currentPassword, string? newPassword, Actor actor, CancellationToken ct = default)
    {
        RequireFields(("current_password", currentPassword), ("new_password", newPassword));
        var account = await accounts.FindByNameAsync(username) ?? throw ProblemException.Unauthorized("The account no longer exists.");
        // The current password is guessed here as much as at sign-in (with a stolen token, say): the same lockout.
        var nameHash = throttle.HashName(account.UserName!);
        var attempt = await throttle.BeginAsync(nameHash, ct);
        if (!attempt.MayProceed)
        {
            await audit.WriteAsync(new AuditEntry(actor, "auth.password_change", AuditResult.Denied, 423, Reason: "locked out"), CancellationToken.None);
            throw LockedOut(attempt);
        }
        if (!await accounts.CheckPasswordAsync(account, currentPassword!))
            await RefuseAsync(actor, "auth.password_change", [], 400, "wrong current password" + (attempt.LocksOnFailure ? "; now locked" : ""),
                ProblemException.Validation("current_password", "The current password is wrong."), CancellationToken.None);
        await throttle.SucceededAsync(nameHash, ct);
        if (newPassword == currentPassword)
            await RefuseAsync(actor, "auth.password_change", [], 400, "new password equals the current one",
                ProblemException.Validation("new_password", "The new password must differ from the current one."), ct);
        await ValidateNewPasswordAsync(account, newPassword!, "new_password", actor, "auth.password_change", ct);

        account.MustChangePassword = false;
        await SaveAuditedAsync(new AuditEntry(actor, "auth.password_change", AuditResult.Success, 204, Detail: new { username }),
            () => accounts.ChangePasswordAsync(account, currentPassword!, newPassword!));
        await EndSessionsAfterCommitAsync(account.Id, SessionEndReasons.PasswordChanged);
    }

    private static ProblemException LockedOut(SignInThrottle.Attempt attempt) =>
        new(423, "Locked", "Too many failed sign-ins. The account is locked; try again later.") { RetryAfter = attempt.RetryAfter };

    /// <summary>The change is committed and its new security stamp already ends old sessions; the records only say why.</summary>
    private async Task EndSessionsAfterCommitAsync(string accountId, string reason)
    {
        try
        {
            await sessions.EndAllAsync(accountId, reason, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Could not record the end of an account's UI sessions; its security stamp ends them anyway");
        }
    }

    public async Task<AdminListResponse> ListAsync(CancellationToken ct = default)
    {
        var superAdmins = (await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Select(a => a.Id).ToHashSet();
        var all = await db.Users.AsNoTracking().OrderBy(a => a.UserName).ToListAsync(ct);
        var hashes = all.ToDictionary(a => a.Id, a => throttle.HashName(a.UserName!));
        var locked = await throttle.LockedAsync(hashes.Values, ct);
        return new AdminListResponse(all.Select(a => new AdminResponse(
            a.UserName!, superAdmins.Contains(a.Id) ? Roles.SuperAdmin : Roles.Admin, a.MustChangePassword,
            a.CreatedAt, a.CreatedBy, locked.Contains(hashes[a.Id]))).ToList());
    }

    /// <summary>From the audit log, in one query: the newest successful sign-in of each name that has one.</summary>
    public async Task<Dictionary<string, DateTimeOffset>> LastSignInsAsync(IReadOnlyCollection<string> usernames, CancellationToken ct = default)
    {
        var found = await db.AuditEvents.AsNoTracking()
            .Where(e => usernames.Contains(e.Actor) && e.Action == LoginAction && e.Result == AuditResult.Success)
            .GroupBy(e => e.Actor)
            .Select(g => new { Actor = g.Key, At = g.Max(e => e.At) })
            .ToListAsync(ct);
        return found.ToDictionary(f => f.Actor, f => f.At);
    }

    public async Task<AdminResponse> CreateAsync(CreateAdminRequest request, Actor actor, CancellationToken ct = default)
    {
        RequireFields(("username", request.Username), ("password", request.Password));
        var username = request.Username!;
        var role = ParseRole(request.Role);
        if (!UsernamePattern().IsMatch(username))
            throw ProblemException.Validation("username", "Use 1–64 letters, digits, '.', '_', '@' or '-'.");
        if (await accounts.FindByNameAsync(username) is not null)
            await RefuseAsync(actor, "admin.create", [], 409, "username taken",
                ProblemException.Conflict($"An admin named '{username}' already exists."), ct);

        var account = new AdminAccount
        {
            UserName = username,
            CreatedAt = clock.GetUtcNow(),
            CreatedBy = actor.Name,
            MustChangePassword = true,
        };
        await ValidateNewPasswordAsync(account, request.Password!, "password", actor, "admin.create", ct);

        await db.InTransactionAsync(async token =>
        {
            // The role row before the audit chain's head, in the order a delete takes them: no deadlock between the two.
            await LockSuperAdminRoleAsync(token);
            await SaveAuditedAsync(new AuditEntry(actor, "admin.create", AuditResult.Success, 201, Detail: new { username, role }),
                () => accounts.CreateAsync(account, request.Password!));
            Check(await accounts.AddToRoleAsync(account, role));
            return true;
        }, ct);
        return new AdminResponse(username, role, account.MustChangePassword, account.CreatedAt, account.CreatedBy, false);
    }

    public async Task DeleteAsync(string username, Actor actor, CancellationToken ct = default)
    {
        var account = await FindOrRefuseAsync(username, actor, "admin.delete", ct);
        if (string.Equals(account.UserName, actor.Name, StringComparison.OrdinalIgnoreCase))
            await RefuseAsync(actor, "admin.delete", [], 409, "cannot delete yourself",
                ProblemException.Conflict("You cannot delete your own account."), ct);

        // Two super admins deleting each other at once: everything is re-read under a lock, so the second sees one left.
        var refusal = await db.InTransactionAsync(async token =>
        {
            await LockSuperAdminRoleAsync(token);
            var current = await accounts.FindByIdAsync(account.Id);
            (int Status, string Reason, ProblemException Problem)? refused = current is null ? (404, "no such admin", ProblemException.NotFound($"No admin named '{username}'."))
                : await accounts.IsInRoleAsync(current, Roles.SuperAdmin) && (await accounts.GetUsersInRoleAsync(Roles.SuperAdmin)).Count <= 1
                    ? (409, "last super admin", ProblemException.Conflict("The last super admin cannot be deleted."))
                    : null;
            if (refused is null)
                await SaveAuditedAsync(new AuditEntry(actor, "admin.delete", AuditResult.Success, 204, Detail: new { username = current!.UserName }),
                    () => accounts.DeleteAsync(current));
            return refused;
        }, ct);
        if (refusal is null)
        {
            await EndSessionsAfterCommitAsync(account.Id, SessionEndReasons.AccountDeleted);
            return;
        }
        // Refused outside the transaction: on SQLite it holds the write lock that the audit writer needs.
        await RefuseAsync(actor, "admin.delete", [], refusal.Value.Status, refusal.Value.Reason, refusal.Value.Problem, ct);
    }

    /// <summary>
    /// Serialises changes to who is a super admin. PostgreSQL: a row lock on the role until the transaction ends;
    /// SQLite: the transaction already holds the database's write lock (Microsoft.Data.Sqlite begins IMMEDIATE).
    /// </summary>
    private async Task LockSuperAdminRoleAsync(CancellationToken ct)
    {
        if (db.Database.IsNpgsql())
            await db.Database.ExecuteSqlAsync($"""SELECT 1 FROM admin_roles WHERE "NormalizedName" = {Roles.SuperAdmin.ToUpperInvariant()} FOR UPDATE""", ct);
    }

    public async Task ResetPasswordAsync(string username, string? newPassword, Actor actor, CancellationToken ct = default)
    {
        RequireFields(("new_password", newPassword));
        var account = await FindOrRefuseAsync(username, actor, "admin.password_reset", ct);
        await ValidateNewPasswordAsync(account, newPassword!, "new_password", actor, "admin.password_reset", ct);

        account.PasswordHash = accounts.PasswordHasher.HashPassword(account, newPassword!);
        account.MustChangePassword = true;
        // A new stamp ends the account's existing tokens and cookie sessions.
        await SaveAuditedAsync(new AuditEntry(actor, "admin.password_reset", AuditResult.Success, 204, Detail: new { username = account.UserName }),
            () => accounts.UpdateSecurityStampAsync(account));
        await EndSessionsAfterCommitAsync(account.Id, SessionEndReasons.PasswordReset);
        await throttle.ClearAsync(throttle.HashName(account.UserName!), ct);
    }

    public async Task<string> RoleOfAsync(AdminAccount account) =>
        (await accounts.GetRolesAsync(account)).Contains(Roles.SuperAdmin) ? Roles.SuperAdmin : Roles.Admin;

    private async Task<AdminAccount> FindOrRefuseAsync(string username, Actor actor, string action, CancellationToken ct)
    {
        var account = await accounts.FindByNameAsync(username);
        if (account is null)
            await RefuseAsync(actor, action, [], 404, "no such admin", ProblemException.NotFound($"No admin named '{username}'."), ct);
        return account!;
    }

    private async Task ValidateNewPasswordAsync(AdminAccount account, string password, string field, Actor actor, string action, CancellationToken ct)
    {
        var problems = new List<string>();
        foreach (var validator in accounts.PasswordValidators)
        {
            var result = await validator.ValidateAsync(accounts, account, password);
            problems.AddRange(result.Errors.Select(e => e.Description));
        }
        if (problems.Count > 0)
        {
            await RefuseAsync(actor, action, [], 400, "weak password",
                ProblemException.Validation(new Dictionary<string, string[]> { [field] = problems.Distinct().ToArray() }), ct);
        }
    }

    /// <summary>Writes the refusal's audit event, then throws the problem. Returns only in the compiler's eyes.</summary>
    private async Task RefuseAsync(Actor actor, string action, string[] userIds, int status, string reason, ProblemException problem, CancellationToken ct)
    {
        await audit.WriteAsync(new AuditEntry(actor, action, AuditResult.Failure, status, userIds, Reason: reason), ct);
        throw problem;
    }

    /// <summary>Stages the event so Identity's own SaveChanges writes it with the change; drops it if Identity refuses.</summary>
    private async Task SaveAuditedAsync(AuditEntry entry, Func<Task<IdentityResult>> change)
    {
        audit.Stage(db, entry);
        var result = await change();
        if (!result.Succeeded)
        {
            foreach (var staged in db.ChangeTracker.Entries<AuditEvent>().Where(e => e.State == EntityState.Added).ToList())
                staged.State = EntityState.Detached;
            Check(result);
        }
    }

    private static void Check(IdentityResult result)
    {
        if (result.Succeeded) return;
        if (result.Errors.Any(e => e.Code == "ConcurrencyFailure"))
            throw ProblemException.Conflict("The account was changed by someone else at the same time. Try again.");
        throw ProblemException.BadRequest(string.Join(" ", result.Errors.Select(e => e.Description)));
    }

    private static string ParseRole(string? role) => role?.Trim().ToLowerInvariant() switch
    {
        null or "" or "admin" => Roles.Admin,
        "superadmin" or "super_admin" => Roles.SuperAdmin,
        _ => throw ProblemException.Validation("role", "Must be 'admin' or 'super_admin'."),
    };

    internal static void RequireFields(params (string Name, string? Value)[] fields)
    {
        var missing = fields.Where(f => string.IsNullOrEmpty(f.Value)).ToDictionary(f => f.Name, _ => new[] { "This field is required." });
        if (missing.Count > 0) throw ProblemException.Validation(missing);
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._@\-]{1,64}\z")]
    private static partial Regex UsernamePattern();

    private static class DummyHash
    {
        public static readonly string Value = new PasswordHasher<AdminAccount>().HashPassword(new AdminAccount(), Guid.NewGuid().ToString(null, CultureInfo.InvariantCulture));
    }
}
