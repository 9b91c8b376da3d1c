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

    public static SortedSet<string> ApplyAll(IEnumerable<SetEdit> edits, IEnumerable<string> current) =>
        edits.Aggregate(new SortedSet<string>(current, StringComparer.Ordinal), (set, edit) => edit.ApplyTo(set));

    public static SetEditMode? ParseMode(string? mode) => mode?.Trim().ToLowerInvariant() switch
    {
        "replace" => SetEditMode.Replace,
        "add" => SetEditMode.Add,
        "remove" => SetEditMode.Remove,
        _ => null,
    };

    /// <summary>
    /// The edits a request asks for: one, from mode and values; or an add and a remove, from add and remove lists —
    /// a difference from what the client saw, which keeps whatever others changed meanwhile. Null (with errors) when invalid.
    /// </summary>
    public static IReadOnlyList<SetEdit>? Parse(SetEditRequest? request, string field, IDictionary<string, string[]> errors)
    {
        if (request is null) return null;
        if (request.Add is not null || request.Remove is not null)
        {
            if (request.Mode is not null || request.Values is not null)
            {
                errors[field] = ["Give either mode and values, or add and remove lists, not both."];
                return null;
            }
            var add = Names(request.Add ?? [], field + ".add", errors);
            var remove = Names(request.Remove ?? [], field + ".remove", errors);
            if (add is null || remove is null) return null;
            if (add.Intersect(remove, StringComparer.Ordinal).ToList() is { Count: > 0 } both)
            {
                errors[field] = ["Names both added and removed: " + string.Join(", ", both) + "."];
                return null;
            }
            return [new SetEdit(SetEditMode.Add, add), new SetEdit(SetEditMode.Remove, remove)];
        }
        var mode = ParseMode(request.Mode);
        if (mode is null) errors[field + ".mode"] = ["Must be replace, add or remove."];
        if (request.Values is null) errors[field + ".values"] = ["Required (an empty list is allowed with replace)."];
        var values = request.Values is null ? null : Names(request.Values, field + ".values", errors);
        return mode is null || values is null ? null : [new SetEdit(mode.Value, values)];
    }

    /// <summary>Names trimmed, distinct and in ordinal order, as they are stored.</summary>
    public static List<string> Normalize(IEnumerable<string>? names) =>
        (names ?? []).Select(n => n.Trim()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    private static List<string>? Names(IReadOnlyList<string?> names, string key, IDictionary<string, string[]> errors) =>
        UserValidation.CheckNames(names, key, errors) ? Normalize(names!) : null;
}
