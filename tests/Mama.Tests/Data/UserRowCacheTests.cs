using Mama.Data;

namespace Mama.Tests.Data;

public sealed class UserRowCacheTests
{
    private readonly UserTableChanges _changes = new();

    [Fact]
    public void ARowIsServedUntilTheNextWrite()
    {
        var cache = new UserRowCache<string>(_changes, 10);
        cache.Add("a", "row a", cache.Version);
        Assert.True(cache.TryGet("a", out var row));
        Assert.Equal("row a", row);

        _changes.Signal();

        Assert.False(cache.TryGet("a", out _));
    }

    [Fact]
    public void ARowReadWhileAWriteCommittedIsNeverServed()
    {
        var cache = new UserRowCache<string>(_changes, 10);
        var readAt = cache.Version;
        _changes.Signal(); // a write commits while the row is being read

        cache.Add("a", "possibly old row", readAt);

        Assert.False(cache.TryGet("a", out _));
        cache.Add("a", "new row", cache.Version);
        Assert.True(cache.TryGet("a", out var row));
        Assert.Equal("new row", row);
    }

    [Fact]
    public void AWriteDropsEveryRowSoNoneOutlivesItInMemory()
    {
        var cache = new UserRowCache<string>(_changes, 10);
        cache.Add("a", "row a", cache.Version);
        cache.Add("b", "row b", cache.Version);
        Assert.Equal(2, cache.Count);

        _changes.Signal();

        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void AFullCacheStartsOver()
    {
        var cache = new UserRowCache<string>(_changes, 2);
        cache.Add("a", "a", cache.Version);
        cache.Add("b", "b", cache.Version);

        cache.Add("c", "c", cache.Version);

        Assert.False(cache.TryGet("a", out _));
        Assert.False(cache.TryGet("b", out _));
        Assert.True(cache.TryGet("c", out _));
    }
}
