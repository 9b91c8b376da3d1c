using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace Mama.Components.Pages.Users;

/// <summary>The filters above the grid, the selection they keep, and the rows as keyboard targets.</summary>
public sealed partial class UsersPage : IAsyncDisposable
{
    /// <summary>The Model filter's "Unavailable models" entry; a model name never holds a control character.</summary>
    public const string UnavailableChoice = "\u0001unavailable";

    private bool unavailableOnly, loadedOnce;
    private int hiddenSelected;
    // The filter the rows on screen were read with: what "all matching" meant when the filter changes under it.
    private UserQuery? appliedQuery;
    private ElementReference gridHost;
    private IJSObjectReference? rows;

    /// <summary>The banner's words: how many are ticked, and how many of them the filter hides (actions still take them all).</summary>
    private string SelectionText => allMatching ? L["AllMatchingSelected", total.ToString("N0")]
        : hiddenSelected > 0 ? $"{L["SelectedCount", selected.Count.ToString("N0")]} {L.Plural("HiddenSelected", hiddenSelected, hiddenSelected.ToString("N0"), selected.Count.ToString("N0"))}"
        : L["SelectedCount", selected.Count.ToString("N0")];

    private string? ModelFilter => unavailableOnly ? UnavailableChoice : model;

    private bool FiltersActive => !string.IsNullOrWhiteSpace(search) || !string.IsNullOrWhiteSpace(organization) || !string.IsNullOrEmpty(model)
        || !string.IsNullOrWhiteSpace(service) || !string.IsNullOrEmpty(sync) || rotatingOnly || unavailableOnly;

    /// <summary>
    /// A new filter keeps the ticked users, hidden or not: the banner counts the hidden ones and actions still take them all.
    /// "All matching" is turned into the users it meant, so it does not quietly become another set.
    /// </summary>
    private async Task FiltersChangedAsync()
    {
        if (allMatching && appliedQuery is { } before)
        {
            if (await AllMatchingAsync(before) is not { } users) return;
            allMatching = false;
            foreach (var user in users) selected[user.UserId] = user;
        }
        await grid.ReloadServerData();
    }

    /// <summary>How many ticked users the filter hides; read after each load, as an edit may move users in or out of it.</summary>
    private async Task CountHiddenAsync()
    {
        if (allMatching || selected.Count == 0 || !FiltersActive)
        {
            hiddenSelected = 0;
            return;
        }
        var query = CurrentQuery(lastState);
        await Ui.RunAsync(async _ => hiddenSelected = await Users.CountHiddenAsync(query, selected.Keys, CancellationToken.None));
    }

    private async Task OrganizationChangedAsync(string? value)
    {
        if (string.Equals(organization ?? "", value ?? "", StringComparison.Ordinal)) return;
        organization = value;
        await FiltersChangedAsync();
    }

    private async Task<IEnumerable<string>> SuggestOrganizationsAsync(string? text, CancellationToken ct)
    {
        IReadOnlyList<string> found = [];
        // The next keystroke cancels this search: that is not an error to show or log.
        await Ui.RunAsync(async _ =>
        {
            try { found = await Users.OrganizationsAsync(text, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
        });
        return found;
    }

    private async Task ModelFilterChangedAsync(string? value)
    {
        unavailableOnly = value == UnavailableChoice;
        model = unavailableOnly ? null : value;
        await FiltersChangedAsync();
    }

    private async Task SyncFilterChangedAsync(string? value)
    {
        sync = value;
        await FiltersChangedAsync();
    }

    private async Task RotationFilterChangedAsync(bool value)
    {
        rotatingOnly = value;
        await FiltersChangedAsync();
    }

    private async Task ClearFiltersAsync()
    {
        (search, organization, model, service, sync, rotatingOnly, unavailableOnly) = (null, null, null, null, null, false, false);
        await FiltersChangedAsync();
    }

    private async Task WatchRowsAsync()
    {
        try
        {
            rows = await Js.InvokeAsync<IJSObjectReference>("import", "./Components/Pages/Users/UsersPage.razor.js");
            if (rows is not null) await rows.InvokeVoidAsync("watchRows", gridHost);
        }
        catch (JSException)
        {
            // Without the script the rows still open on a click; the ID cell's checkbox and menus keep working by keyboard.
        }
    }

    /// <summary>Back to the row whose dialog just closed, so a keyboard user goes on from where they were.</summary>
    private async Task FocusRowAsync(string userId)
    {
        if (rows is null) return;
        try
        {
            await rows.InvokeVoidAsync("focusRow", gridHost, userId);
        }
        catch (JSException)
        {
            // The row left the page (deleted meanwhile): focus stays where the browser put it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (rows is null) return;
        try
        {
            await rows.DisposeAsync();
        }
        catch (JSDisconnectedException)
        {
            // The circuit is gone, and the module with it.
        }
    }
}
