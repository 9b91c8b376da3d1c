using Mama.Http;
using Microsoft.Extensions.Options;

namespace Mama.LiteLlm;

public sealed record ModelListResponse(IReadOnlyList<ModelItem> Models, DateTimeOffset FetchedAt, bool Stale);
public sealed record ModelItem(string Id);

/// <summary>The proxy's model list, cached briefly; when the proxy is unreachable, the last copy marked stale.</summary>
public sealed class ModelCatalog(LiteLlmClient liteLlm, IOptions<LiteLlmOptions> options, TimeProvider clock, ILogger<ModelCatalog> logger)
{
    /// <summary>Names that are always valid in a key's model list, with LiteLLM's meaning.</summary>
    public static readonly IReadOnlySet<string> SpecialModels = new HashSet<string>(StringComparer.Ordinal) { "all-team-models", "all-proxy-models" };

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private ModelListResponse? _last;

    public async Task<ModelListResponse> GetAsync(CancellationToken ct)
    {
        if (Fresh(_last) is { } cached) return cached;
        await _refresh.WaitAsync(ct);
        try
        {
            if (Fresh(_last) is { } again) return again;
            var models = await liteLlm.ListModelsAsync(ct);
            _last = new ModelListResponse(models.Select(m => new ModelItem(m)).ToList(), clock.GetUtcNow(), Stale: false);
            return _last;
        }
        catch (LiteLlmException e)
        {
            logger.LogWarning("Listing the proxy's models failed: {Reason}", e.Message);
            return _last is null
                ? throw ProblemException.Unavailable("The LiteLLM proxy is unreachable and no earlier model list is known.")
                : _last with { Stale = true };
        }
        finally
        {
            _refresh.Release();
        }
    }

    private ModelListResponse? Fresh(ModelListResponse? last) =>
        last is not null && clock.GetUtcNow() - last.FetchedAt < options.Value.ModelsCacheDuration ? last : null;
}
