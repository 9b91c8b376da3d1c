using Mama.LiteLlm;

namespace Mama.Components.Pages.Users;

/// <summary>The one rule for "does the proxy serve this name", used by every picker, chip and check of the users pages.</summary>
public static class ServedModels
{
    /// <summary>
    /// Whether the proxy serves <paramref name="name"/>: one of <paramref name="names"/> (its models and access groups,
    /// see ModelListResponse.Names) or one of LiteLLM's special names, which are never listed.
    /// </summary>
    public static bool IsServed(string name, IReadOnlySet<string> names) => names.Contains(name) || ModelCatalog.SpecialModels.Contains(name);
}
