using Mama.Audit;
using Mama.Http;
using Mama.Security;
using Mama.Sessions;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Mama.Components;

/// <summary>
/// One admin's circuit: who they are, where they connect from, and the one way a page runs an action —
/// as an audited actor, with a problem shown in words and an ended session sent to the login page.
/// </summary>
public sealed partial class UiSession(
    AuthenticationStateProvider authState,
    NavigationManager navigation,
    ISnackbar snackbar,
    SessionService sessions,
    IStringLocalizer<UiSession> L,
    IStringLocalizer<Shared.SyncErrorText> syncErrors,
    ILogger<UiSession> logger)
{
    public string? ClientIp { get; set; }

    public async Task<Actor?> ActorAsync()
    {
        var state = await authState.GetAuthenticationStateAsync();
        return state.User.Identity?.IsAuthenticated == true ? Actor.From(state.User, ClientIp) : null;
    }

    /// <summary>Runs an action for the signed-in admin; returns false (after saying why) when it did not succeed.</summary>
    public async Task<bool> RunAsync(Func<Actor, Task> action, string? success = null)
    {
        var state = await authState.GetAuthenticationStateAsync();
        if (state.User.Identity?.IsAuthenticated != true)
        {
            RedirectToLogin();
            return false;
        }
        if (PasswordChanged.IsRequired(state.User))
        {
            navigation.GoAndReturn("/account/password");
            return false;
        }
        var actor = Actor.From(state.User, ClientIp);
        try
        {
            // Checked before every action, so a page left open after its session ended elsewhere cannot save.
            if (await sessions.EndReasonAsync(SessionService.IdOf(state.User), activity: true) is { } ended)
            {
                navigation.GoAndReturn("/login", ended);
                return false;
            }
            await action(actor);
            if (success is not null) snackbar.Add(success, Severity.Success);
            return true;
        }
        catch (ProblemException problem) when (problem.Status == 401)
        {
            RedirectToLogin();
            return false;
        }
        catch (ProblemException problem)
        {
            snackbar.Add(Describe(problem), Severity.Error);
            return false;
        }
        // Anything else must not end the circuit either: the admin reads what happened and the page stays usable.
        catch (AuditUnavailableException e)
        {
            logger.LogError(e, "Audit log unavailable; a UI action was refused");
            snackbar.Add(ProblemExceptionHandler.AuditUnavailable(e), Severity.Error);
            return false;
        }
        catch (Exception e) when (ProblemExceptionHandler.IsDatabaseFailure(e))
        {
            logger.LogError(e, "Database failure in a UI action");
            snackbar.Add(ProblemExceptionHandler.DatabaseUnavailable, Severity.Error);
            return false;
        }
        catch (Exception e)
        {
            logger.LogError(e, "Unexpected error in a UI action");
            snackbar.Add(L["UnexpectedError"], Severity.Error);
            return false;
        }
    }

    /// <summary>
    /// The problem in the admin's language when its code is known (else its detail as it came) and, for a validation
    /// failure, each field's problem: by its code when known, else the API's own words.
    /// </summary>
    public string Describe(ProblemException problem)
    {
        var head = problem.Code is { } code && L["Problem_" + code, (problem.Extensions.TryGetValue("user_id", out var id) ? id : null) ?? ""] is { ResourceNotFound: false } known
            ? known.Value
            // A problem without a code may carry a LiteLLM sentence (a conflict resolved against a refusing proxy).
            : Shared.SyncErrorText.Describe(syncErrors, problem.Message);
        return problem.Errors is { Count: > 0 } errors
            ? L["ProblemWithFields", head, string.Join(" ", errors.Select(e => L["FieldProblem", FieldLabel(e.Key), FieldText(problem, e.Key)].Value))]
            : head;
    }

    /// <summary>What is wrong with one field of a validation problem (no label): by its code in the admin's language when known, else the API's words.</summary>
    public string FieldText(ProblemException problem, string field) =>
        problem.FieldCodes.TryGetValue(field, out var code) && L["Field_" + code, problem.FieldValues.GetValueOrDefault(field) ?? ""] is { ResourceNotFound: false } known ? known.Value
        : problem.Errors?.TryGetValue(field, out var messages) == true ? string.Join(" ", messages)
        : "";

    /// <summary>A field problem's code in the admin's language (the code itself when it has no words here).</summary>
    public string FieldCodeText(string code) => L["Field_" + code] is { ResourceNotFound: false } known ? known.Value : code;

    /// <summary><c>users[2].user_id</c> as "Row 3, user ID"; <c>organization</c> as "Organisation"; a field without a name here as it came.</summary>
    private string FieldLabel(string field)
    {
        var row = RowField().Match(field);
        var name = row.Success ? row.Groups[2].Value : field;
        var bare = name.Split('[', '.')[0];
        var label = L["FieldName_" + bare] is { ResourceNotFound: false } known ? known.Value : name;
        return row.Success ? L["FieldOfRow", int.Parse(row.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1, label] : label;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^users\[(\d+)\]\.(.+)$")]
    private static partial System.Text.RegularExpressions.Regex RowField();

    private void RedirectToLogin() => navigation.GoAndReturn("/login");
}
