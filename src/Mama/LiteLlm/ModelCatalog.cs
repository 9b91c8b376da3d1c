using Mama.Http;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

/// <param name="AccessGroups">LiteLLM access groups: a key naming one in its models may use the group's models.</param>
/// <param name="Source"><c>model_info</c>, or <c>models</c> when the proxy has no <c>/model/info</c> (then aliases it mixes in cannot be told apart).</param>
public sealed record ModelListResponse(IReadOnlyList<ModelItem> Models, DateTimeOffset FetchedAt, bool Stale, IReadOnlyList<AccessGroupItem> AccessGroups, string Source)
{
    /// <summary>Every name a key's model list may hold that the proxy knows: models and access groups.</summary>
    public IReadOnlySet<string> Names() => Models.Select(m => m.Id).Concat(AccessGroups.Select(g => g.Id)).ToHashSet(StringComparer.Ordinal);
}

public sealed record ModelItem(string Id);
public sealed record AccessGroupItem(string Id, IReadOnlyList<string> Models);

/// <summary>
/// The proxy's model list, cached briefly; when the proxy is unreachable, or slower than the caller can wait, the last
/// copy marked stale. One refresh at a time runs to its end even when its callers stop waiting, so the next caller
/// finds the list.
/// </summary>
public sealed class ModelCatalog(LiteLlmClient liteLlm, IOptions<LiteLlmOptions> options, TimeProvider clock, ILogger<ModelCatalog> logger)
{
    /// <summary>Names that are always valid in a key's model list, with LiteLLM's meaning.</summary>
    public static readonly IReadOnlySet<string> SpecialModels = new HashSet<string>(StringComparer.Ordinal) { "all-team-models", "all-proxy-models" };

    /// <summary>A user-level sentinel newer proxies list in <c>/v1/models</c>; never a model (CONTRACT §9.3).</summary>
    private const string NoDefaultModels = "no-default-models";

    private readonly Lock _gate = new();
    private Task<ModelListResponse>? _refreshing;
    private volatile ModelListResponse? _last;

    public Task<ModelListResponse> GetAsync(CancellationToken ct) => GetAsync(Timeout.InfiniteTimeSpan, ct);

    /// <summary>The list, waiting at most <paramref name="wait"/> for a refresh; then the last copy (stale), or 503 when none is known.</summary>
    public async Task<ModelListResponse> GetAsync(TimeSpan wait, CancellationToken ct)
    {
        if (Fresh(_last) is { } cached) return cached;
        Task<ModelListResponse> refresh;
        // On the thread pool, so a caller's synchronization context (a Blazor circuit) never queues the refresh behind its own work.
        lock (_gate) refresh = _refreshing ??= Task.Run(RefreshAsync, CancellationToken.None);
        try
        {
            return wait == Timeout.InfiniteTimeSpan ? await refresh.WaitAsync(ct) : await refresh.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, clock, ct);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("The proxy did not list its models within {Wait}", wait);
            return _last is { } last
                ? last with { Stale = true }
                : throw ProblemException.Unavailable($"The LiteLLM proxy did not list its models within {wait.TotalSeconds:0.#} s, so the model names could not be checked; nothing was changed. Try again shortly, or set allow_unknown_models.");
        }
    }

    /// <summary>Which of the names the proxy does not serve, checked within <paramref name="wait"/> (against the last known list if the proxy is slow).</summary>
    public async Task<HashSet<string>> UnknownAsync(IEnumerable<string?> requested, TimeSpan wait, CancellationToken ct)
    {
        var names = requested.Where(n => !string.IsNullOrWhiteSpace(n) && !SpecialModels.Contains(n!)).Select(n => n!).ToHashSet(StringComparer.Ordinal);
        if (names.Count == 0) return [];
        names.ExceptWith((await GetAsync(wait, ct)).Names());
        return names;
    }

    private async Task<ModelListResponse> RefreshAsync()
    {
        try
        {
            // Not the caller's token: callers may stop waiting, the refresh still fills the cache (the HTTP client bounds it).
            return _last = await ReadCatalogAsync(CancellationToken.None);
        }
        catch (LiteLlmException e)
        {
            logger.LogWarning("Listing the proxy's models failed: {Reason}", e.Message);
            return _last is { } last
                ? last with { Stale = true }
                : throw ProblemException.Unavailable("The LiteLLM proxy is unreachable and no earlier model list is known.");
        }
        finally
        {
            lock (_gate) _refreshing = null;
        }
    }

    /// <summary>
    /// From <c>/model/info</c>: its deployments are the models, their <c>access_groups</c> the groups. <c>/v1/models</c> now
    /// mixes key and team aliases and group names into its list, so it is used only on proxies without <c>/model/info</c>.
    /// </summary>
    private async Task<ModelListResponse> ReadCatalogAsync(CancellationToken ct)
    {
        if (await liteLlm.ListDeploymentsAsync(ct) is { } deployments)
        {
            var named = deployments.Where(d => !string.IsNullOrEmpty(d.ModelName)).ToList();
            var models = named.Select(d => d.ModelName!).Distinct(StringComparer.Ordinal).Select(m => new ModelItem(m)).ToList();
            var groups = named
                .SelectMany(d => (d.ModelInfo?.AccessGroups ?? []).Where(g => !string.IsNullOrEmpty(g)).Select(g => (Group: g, Model: d.ModelName!)))
                .GroupBy(p => p.Group, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new AccessGroupItem(g.Key, g.Select(p => p.Model).Distinct(StringComparer.Ordinal).ToList()))
                .ToList();
            return new ModelListResponse(models, clock.GetUtcNow(), Stale: false, groups, "model_info");
        }
        var listed = await liteLlm.ListModelsAsync(ct);
        var items = listed.Where(m => m != NoDefaultModels && !SpecialModels.Contains(m)).Select(m => new ModelItem(m)).ToList();
        return new ModelListResponse(items, clock.GetUtcNow(), Stale: false, [], "models");
    }

    private ModelListResponse? Fresh(ModelListResponse? last) =>
        last is not null && clock.GetUtcNow() - last.FetchedAt < options.Value.ModelsCacheDuration ? last : null;
}
