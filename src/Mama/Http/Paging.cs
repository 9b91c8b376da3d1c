namespace Mama.Http;

/// <summary>Page and page size of a list, checked so that the offset can neither overflow nor ask the database to skip past any sane table.</summary>
public readonly record struct Paging(int Page, int PageSize)
{
    /// <summary>Ten million rows: past any users table or audit log mama serves page by page.</summary>
    public const long MaxOffset = 10_000_000;

    public int Offset => (Page - 1) * PageSize;

    /// <summary>The paging asked for (50 a page by default), or errors under <c>page</c> and <c>page_size</c>.</summary>
    public static Paging Check(int? page, int? pageSize, int maxPageSize, IDictionary<string, string[]> errors)
    {
        var result = new Paging(page ?? 1, pageSize ?? 50);
        if (result.Page < 1) errors["page"] = ["Must be 1 or more."];
        if (result.PageSize is < 1 || result.PageSize > maxPageSize) errors["page_size"] = [$"Must be between 1 and {maxPageSize}."];
        else if (result.Page >= 1 && (long)(result.Page - 1) * result.PageSize > MaxOffset)
            errors["page"] = [$"Too far: page × page_size must stay within {MaxOffset:N0} rows."];
        return result;
    }
}
