using Mama.Http;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

public sealed record ModelListResponse(IReadOnlyList<ModelItem> Models, DateTimeOffset FetchedAt, bool Stale);
public sealed record ModelItem(string Id);

/// <summary>
/// The proxy's model list, cached briefly; when the proxy is unreachable, or slower than the caller can wait, the last
/// copy marked stale. One refresh at a time runs to its end even when its callers stop waiting, so the next caller
/// finds the list.
/// </summary>
public sealed class ModelCatalog(LiteLlmClient liteLlm, IOptions<LiteLlmOptions> options, TimeProvider clock, ILogger<ModelCatalog> logger)
{
    /// <summary>Names that are always valid in a key's model list, with LiteLLM's meaning.</summary>
    public static readonly IReadOnlySet<string> SpecialModels = new HashSet<string>(StringComparer.Ordinal) { "all-team-models", "all-proxy-models" };

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
        names.ExceptWith((await GetAsync(wait, ct)).Models.Select(m => m.Id));
        return names;
    }

    private async Task<ModelListResponse> RefreshAsync()
    {
        try
        {
            // Not the caller's token: callers may stop waiting, the refresh still fills the cache (the HTTP client bounds it).
            var models = await liteLlm.ListModelsAsync(CancellationToken.None);
            return _last = new ModelListResponse(models.Select(m => new ModelItem(m)).ToList(), clock.GetUtcNow(), Stale: false);
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

    private ModelListResponse? Fresh(ModelListResponse? last) =>
        last is not null && clock.GetUtcNow() - last.FetchedAt < options.Value.ModelsCacheDuration ? last : null;
}
