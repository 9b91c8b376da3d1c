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
public sealed class UiSession(
    AuthenticationStateProvider authState,
    NavigationManager navigation,
    ISnackbar snackbar,
    SessionService sessions,
    IStringLocalizer<UiSession> L,
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

    /// <summary>The problem's detail and, for a validation failure, each field's message: what the REST API says, in words.</summary>
    public string Describe(ProblemException problem) =>
        problem.Code is { } code && L["Problem_" + code, (problem.Extensions.TryGetValue("user_id", out var id) ? id : null) ?? ""] is { ResourceNotFound: false } known ? known
        : problem.Errors is { Count: > 0 } errors
            ? L["ProblemWithFields", problem.Message, string.Join(" ", errors.SelectMany(e => e.Value.Select(m => $"{e.Key}: {m}")))]
            : problem.Message;

    private void RedirectToLogin() => navigation.GoAndReturn("/login");
}
