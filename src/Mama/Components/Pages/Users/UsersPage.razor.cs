using Mama.Components.Shared;
using Mama.Http;
using Mama.LiteLlm;
using Mama.Rotation;
using Mama.Security;
using Mama.Users;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Localization;
using Microsoft.JSInterop;
using MudBlazor;

namespace Mama.Components.Pages.Users;

public sealed partial class UsersPage
{
    [Inject] private UserService Users { get; set; } = default!;
    [Inject] private ModelCatalog Catalog { get; set; } = default!;
    [Inject] private ProxyStatus Proxy { get; set; } = default!;
    [Inject] private UiSession Ui { get; set; } = default!;
    [Inject] private IDialogService Dialogs { get; set; } = default!;
    [Inject] private IJSRuntime Js { get; set; } = default!;
    [Inject] private ISnackbar Snackbar { get; set; } = default!;
    [Inject] private IStringLocalizer<UsersPage> L { get; set; } = default!;
    [Inject] private IBrowserViewportService Viewport { get; set; } = default!;
    [CascadingParameter] private Task<AuthenticationState>? AuthState { get; set; }

    /// <summary>A search in the address (<c>/users?search=acme</c>), so a filtered list can be bookmarked or linked.</summary>
    [SupplyParameterFromQuery(Name = "search")] public string? InitialSearch { get; set; }

    private MudDataGrid<UserResponse> grid = default!;
    private string? search, organization, model, service, sync;
    private ModelListResponse? models;
    private IReadOnlySet<string>? served, groups;
    private bool modelsUnavailable, exporting, rotatingOnly;
    private string? compromisedVersion;
    private int total;
    private IReadOnlyList<UserResponse> pageItems = [];
    private readonly Dictionary<string, UserResponse> selected = new(StringComparer.Ordinal);
    private bool allMatching;
    private readonly Dictionary<string, string> revealed = new(StringComparer.Ordinal);
    private readonly HashSet<string> unreadable = new(StringComparer.Ordinal);

    private int SelectedCount => allMatching ? total : selected.Count;
    private bool PageFullySelected => pageItems.Count > 0 && (allMatching || pageItems.All(u => selected.ContainsKey(u.UserId)));
    private IEnumerable<string> ModelChoices => (served ?? new HashSet<string>()).Concat(ModelCatalog.SpecialModels).Order(StringComparer.Ordinal);

    // One delegate for the page's life: a new one per render would count as a new parameter and reload the grid.
    private Func<GridState<UserResponse>, CancellationToken, Task<GridData<UserResponse>>> loader = default!;

    protected override async Task OnInitializedAsync()
    {
        loader = LoadAsync;
        search = InitialSearch;
        // The model list first, as the dialogs check names against it; the proxy's version meanwhile.
        var compromised = Proxy.CompromisedVersionAsync(CancellationToken.None);
        try
        {
            models = await Catalog.GetAsync(CancellationToken.None);
            served = models.Names();
            groups = models.AccessGroups.Select(g => g.Id).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception)
        {
            // The proxy's list is a help, not the page: then no model is marked red (unknown is not the same as gone).
            modelsUnavailable = true;
        }
        compromisedVersion = await compromised;
    }

    /// <summary>The grid's sort and page, plus the filters above it, as the query the REST API takes too.</summary>
    public UserQuery CurrentQuery(GridState<UserResponse>? state = null, int? page = null, int? pageSize = null)
    {
        var sort = (state ?? new GridState<UserResponse>()).SortDefinitions.FirstOrDefault();
        return new UserQuery(search, organization, model, service, sync,
            SortField(sort?.SortBy), sort?.Descending == true ? "desc" : "asc",
            page ?? (state is null ? 1 : state.Page + 1), pageSize ?? (state?.PageSize ?? 25), rotatingOnly ? UserService.RotationInProgress : null, unavailableOnly);
    }

    public static string SortField(string? column) => column switch
    {
        nameof(UserResponse.Organization) => "organization",
        nameof(UserResponse.CreatedAt) => "created_at",
        nameof(UserResponse.UpdatedAt) => "updated_at",
        _ => "user_id",
    };

    private GridState<UserResponse>? lastState;

    private async Task<GridData<UserResponse>> LoadAsync(GridState<UserResponse> state, CancellationToken ct)
    {
        lastState = state;
        UserPage? result = null;
        var query = CurrentQuery(state);
        await Ui.RunAsync(async actor => result = await Users.ListAsync(query, actor, CancellationToken.None));
        pageItems = result?.Items ?? [];
        total = result?.Total ?? 0;
        if (result is not null) appliedQuery = query;
        loadedOnce = true;
        await CountHiddenAsync();
        StateHasChanged();
        return new GridData<UserResponse> { Items = pageItems, TotalItems = total };
    }

    private bool IsSelected(UserResponse? user) => user is not null && (allMatching || selected.ContainsKey(user.UserId));

    private void Toggle(UserResponse user, bool on)
    {
        if (allMatching)
        {
            // Leaving "all matching" keeps the visible page selected, minus this one.
            allMatching = false;
            foreach (var u in pageItems) selected[u.UserId] = u;
        }
        if (on) selected[user.UserId] = user;
        else selected.Remove(user.UserId);
    }

    private void TogglePage(bool on)
    {
        allMatching = false;
        foreach (var u in pageItems)
        {
            if (on) selected[u.UserId] = u;
            else selected.Remove(u.UserId);
        }
    }

    private void SelectAllMatching() => allMatching = true;

    private void ClearSelection()
    {
        allMatching = false;
        selected.Clear();
        hiddenSelected = 0;
    }

    /// <summary>The users an action applies to: the ticked ones, or every user the filter matches (read page by page).</summary>
    private async Task<IReadOnlyList<UserResponse>?> SelectedUsersAsync()
    {
        if (!allMatching) return selected.Values.ToList();
        return await AllMatchingAsync();
    }

    /// <summary>Every user the current filter (or the one given) matches, read page by page (each read audited); null after a problem was shown.</summary>
    private async Task<List<UserResponse>?> AllMatchingAsync(UserQuery? filter = null)
    {
        var all = new List<UserResponse>();
        var ok = await Ui.RunAsync(async actor =>
        {
            for (var page = 1; ; page++)
            {
                var query = filter is null ? CurrentQuery(lastState, page, UserService.MaxPageSize) : filter with { Page = page, PageSize = UserService.MaxPageSize };
                var batch = await Users.ListAsync(query, actor, CancellationToken.None);
                all.AddRange(batch.Items);
                if (batch.Items.Count < UserService.MaxPageSize) break;
            }
        });
        return ok ? all : null;
    }

    private async Task OpenUserAsync(DataGridRowClickEventArgs<UserResponse> row)
    {
        var dialog = await Dialogs.ShowAsync<EditUserDialog>(L["EditUser", row.Item.UserId],
            new DialogParameters<EditUserDialog> { { d => d.User, row.Item }, { d => d.Models, ModelChoices.ToList() }, { d => d.Served, served } },
            await DialogOptionsAsync(MaxWidth.Medium));
        if (await dialog.Result is { Canceled: false }) await grid.ReloadServerData();
        await FocusRowAsync(row.Item.UserId);
    }

    private async Task AddUsersAsync()
    {
        var dialog = await Dialogs.ShowAsync<AddUsersDialog>(L["AddUsers"],
            new DialogParameters<AddUsersDialog> { { d => d.Models, ModelChoices.ToList() }, { d => d.Served, served } },
            await DialogOptionsAsync(MaxWidth.ExtraLarge, backdropClick: false));
        await dialog.Result;
        await grid.ReloadServerData();
    }

    private async Task EditSelectedAsync()
    {
        var users = await SelectedUsersAsync();
        if (users is null || users.Count == 0) return;
        var dialog = await Dialogs.ShowAsync<EditSelectedDialog>(L.Plural("EditSelectedTitle", users.Count, users.Count.ToString("N0")),
            new DialogParameters<EditSelectedDialog> { { d => d.Selection, users }, { d => d.Models, ModelChoices.ToList() }, { d => d.Served, served }, { d => d.Groups, groups } },
            await DialogOptionsAsync(MaxWidth.Medium, backdropClick: false));
        if (await dialog.Result is { Canceled: false })
        {
            ClearSelection();
            await grid.ReloadServerData();
        }
    }

    private async Task DeleteSelectedAsync()
    {
        var users = await SelectedUsersAsync();
        if (users is null || users.Count == 0) return;
        var dialog = await Dialogs.ShowAsync<DeleteUsersDialog>(L.Plural("DeleteTitle", users.Count, users.Count.ToString("N0")),
            new DialogParameters<DeleteUsersDialog> { { d => d.UserIds, users.Select(u => u.UserId).ToList() } },
            await DialogOptionsAsync(MaxWidth.Small, backdropClick: false));
        if (await dialog.Result is { Canceled: false })
        {
            ClearSelection();
            await grid.ReloadServerData();
        }
    }

    /// <summary>The ticked users by ID, or "all matching" as the filter itself, so the server rotates what matches when it starts.</summary>
    private async Task RotateSelectedAsync()
    {
        var parameters = new DialogParameters<RotateKeysDialog>();
        if (allMatching)
            parameters.Add(d => d.Filter, new RotationFilter(Given(search), Given(organization), Given(model), Given(service), sync,
                rotatingOnly ? UserService.RotationInProgress : null, unavailableOnly ? true : null));
        else if (selected.Count > 0) parameters.Add(d => d.UserIds, selected.Keys.ToList());
        else return;
        var dialog = await Dialogs.ShowAsync<RotateKeysDialog>(L["RotateKeys"], parameters,
            await DialogOptionsAsync(MaxWidth.Small, backdropClick: false));
        if (await dialog.Result is { Canceled: false }) ClearSelection();
        await grid.ReloadServerData();
    }

    private async Task<string?> KeyAsync(UserResponse user)
    {
        string? key = null;
        await Ui.RunAsync(async actor =>
        {
            try
            {
                key = (await Users.GetWithKeyAsync(user.UserId, actor, CancellationToken.None)).Key;
            }
            catch (ProblemException p) when (p.Extensions.TryGetValue("reason", out var reason) && reason is KeyProtector.KeyUnreadable)
            {
                unreadable.Add(user.UserId);
                throw;
            }
        });
        return key;
    }

    private async Task ToggleRevealAsync(UserResponse user)
    {
        if (revealed.Remove(user.UserId)) return;
        if (await KeyAsync(user) is { } key) revealed[user.UserId] = key;
    }

    private async Task CopyKeyAsync(UserResponse user)
    {
        if (await KeyAsync(user) is not { } key) return;
        var copied = false;
        if (await Ui.RunAsync(async _ => copied = await Js.InvokeAsync<bool>("mama.copy", key)))
            Snackbar.Add(copied ? L["KeyCopied", user.UserId] : L["CopyFailed"], copied ? Severity.Success : Severity.Warning);
    }

    private async Task RetryAsync(UserResponse user)
    {
        SyncOutcome? outcome = null;
        if (await Ui.RunAsync(async actor => outcome = await Users.RetrySyncAsync(user.UserId, actor, CancellationToken.None)))
        {
            Snackbar.Add(L["SyncResult", user.UserId, L[outcome!.State]], outcome.State == SyncOutcome.Synced ? Severity.Success : Severity.Warning);
            await grid.ReloadServerData();
        }
    }

    private async Task ExportAsync()
    {
        exporting = true;
        try
        {
            if (await AllMatchingAsync() is not { } users) return;
            // Never the key: an export leaves mama's audit trail behind.
            var csv = Csv.Write(["user_id", "organization", "allowed_models", "allowed_services", "extra_info", "sync_state", "created_at", "updated_at"],
                users.Select(u => new[]
                {
                    u.UserId, u.Organization, string.Join(';', u.AllowedModels), string.Join(';', u.AllowedServices), u.ExtraInfo,
                    u.SyncState, u.CreatedAt.ToString("O"), u.UpdatedAt.ToString("O"),
                }));
            await Ui.RunAsync(async _ => await Js.InvokeVoidAsync("mama.download", $"mama-users-{DateTime.UtcNow:yyyyMMdd-HHmm}.csv", "text/csv", csv));
        }
        finally
        {
            exporting = false;
        }
    }

    private static Color SyncColor(string state) => state switch
    {
        SyncOutcome.Synced => Color.Success,
        SyncOutcome.Pending or SyncOutcome.Conflict => Color.Warning,
        _ => Color.Error,
    };

    /// <summary>A blank filter box is no filter on the page; the rotation API refuses blanks (they would read as everyone), so none is sent.</summary>
    private static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
