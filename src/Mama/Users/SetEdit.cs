namespace Mama.Users;

public enum SetEditMode
{
    Replace,
    Add,
    Remove,
}

/// <summary>An edit of a set of names (allowed models or services): replace it, add to it, or remove from it. Pure.</summary>
public sealed record SetEdit(SetEditMode Mode, IReadOnlyCollection<string> Values)
{
    public SortedSet<string> ApplyTo(IEnumerable<string> current)
    {
        var result = new SortedSet<string>(Mode == SetEditMode.Replace ? [] : current, StringComparer.Ordinal);
        if (Mode == SetEditMode.Remove) result.ExceptWith(Values);
        else result.UnionWith(Values);
        return result;
    }

    public static SetEditMode? ParseMode(string? mode) => mode?.Trim().ToLowerInvariant() switch
    {
        "replace" => SetEditMode.Replace,
        "add" => SetEditMode.Add,
        "remove" => SetEditMode.Remove,
        _ => null,
    };
}
