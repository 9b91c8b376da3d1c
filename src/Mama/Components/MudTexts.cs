using Microsoft.Extensions.Localization;
using MudBlazor;

namespace Mama.Components;

/// <summary>
/// MudBlazor's own texts (the grid's pager, sort and column menus, close buttons, picker labels) from
/// MudTexts.resx, so that a Korean page has no English left in it. A key missing here falls back to MudBlazor's English.
/// </summary>
public sealed class MudTexts(IStringLocalizer<MudTexts> texts) : MudLocalizer
{
    public override LocalizedString this[string key] => texts[key];

    public override LocalizedString this[string key, params object[] arguments] => texts[key, arguments];
}
