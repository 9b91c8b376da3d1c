using System.Text.Json;
using Microsoft.JSInterop;
using MudBlazor;

namespace Mama.Components.Pages.Users;

/// <summary>How the users page fits its screen: the optional columns each admin chooses, and dialogs full-screen on a phone.</summary>
public sealed partial class UsersPage
{
    public const string KeyColumn = "key", ServicesColumn = "services", ExtraColumn = "extra", CreatedColumn = "created";
    private static readonly string[] OptionalColumns = [KeyColumn, ServicesColumn, ExtraColumn, CreatedColumn];

    // The key is shown until an admin hides it; the rest fits at 1280 px only when chosen.
    private HashSet<string> shownColumns = [KeyColumn];
    private string? columnsStorageKey;

    private bool IsShown(string column) => shownColumns.Contains(column);

    private static string ColumnTitle(string column) => column switch
    {
        KeyColumn => "Key",
        ServicesColumn => "AllowedServices",
        ExtraColumn => "ExtraInfo",
        _ => "Created",
    };

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        await WatchRowsAsync();
        // Per admin, in this browser: a choice of layout is no secret and needs no audit.
        var admin = AuthState is null ? null : (await AuthState).User.Identity?.Name;
        columnsStorageKey = $"mama.users.columns:{admin}";
        var stored = await Js.InvokeAsync<string?>("localStorage.getItem", columnsStorageKey);
        if (string.IsNullOrEmpty(stored)) return;
        try
        {
            shownColumns = [.. (JsonSerializer.Deserialize<string[]>(stored) ?? []).Intersect(OptionalColumns)];
        }
        catch (JsonException)
        {
            return; // written by hand or by an older version: the defaults stand
        }
        StateHasChanged();
    }

    private async Task ShowColumnAsync(string column, bool on)
    {
        if (on) shownColumns.Add(column);
        else shownColumns.Remove(column);
        if (columnsStorageKey is not null)
            await Js.InvokeVoidAsync("localStorage.setItem", columnsStorageKey, JsonSerializer.Serialize(shownColumns.Order(StringComparer.Ordinal)));
    }

    /// <summary>Below MudBlazor's small breakpoint (600 px) a dialog takes the whole screen; its fields would not fit beside margins.</summary>
    private async Task<DialogOptions> DialogOptionsAsync(MaxWidth maxWidth, bool? backdropClick = null)
    {
        var phone = await Viewport.IsMediaQueryMatchAsync("(max-width: 599.98px)");
        return new DialogOptions { MaxWidth = maxWidth, FullWidth = true, FullScreen = phone, BackdropClick = backdropClick };
    }
}
