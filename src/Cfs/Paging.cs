namespace Cray.Cfs;

/// <summary>v3 paging: records in key order after <c>after_id</c>, filtered before the page is cut.</summary>
public static class Paging
{
    /// <summary>
    /// Takes up to <paramref name="limit"/> matching records (all when limit is 0 or less) and says
    /// whether another matching record exists after them; reads no further than that one.
    /// </summary>
    public static async Task<(List<T> Items, bool More)> PageAsync<T>(IAsyncEnumerable<T> ordered, Func<T, bool> matches, int limit, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        await foreach (var item in ordered.WithCancellation(cancellationToken))
        {
            if (!matches(item))
            {
                continue;
            }
            if (limit > 0 && items.Count == limit)
            {
                return (items, true);
            }
            items.Add(item);
        }
        return (items, false);
    }

    public static int? ParseLimit(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (!int.TryParse(text, out var limit) || limit < 1)
        {
            throw CfsProblems.Schema($"{text} is less than the minimum of 1", "limit");
        }
        return limit;
    }

    /// <summary>The v2 answer when more records match than one page holds.</summary>
    public static Platform.Problems.ProblemException TooLarge()
        => CfsProblems.BadRequest("The response size is too large", "The response size exceeds the default_page_size. Use the v3 API to page through the results.");
}
