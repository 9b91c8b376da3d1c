using System.Collections.Concurrent;

namespace Mama.Data;

/// <summary>
/// Rows of the <c>users</c> table kept in memory by user ID, valid until the next committed write to the table
/// (<see cref="UserTableChanges"/>). Callers note <see cref="Version"/> before they read the database and pass it to
/// <see cref="Add"/>, so a row read while a write committed is never served. Rows from before a write are never
/// served again and are replaced as they are read anew; when full, it starts over. A generation number rather than
/// a change token per entry: a write then costs one increment, not one callback per cached row.
/// </summary>
public sealed class UserRowCache<TRow>(UserTableChanges changes, int capacity) where TRow : class
{
    private readonly ConcurrentDictionary<string, (TRow Row, long Version)> _rows = new(StringComparer.Ordinal);
    private readonly Lock _clearing = new();
    private int _count;

    public long Version => changes.Version;

    public bool TryGet(string userId, out TRow row)
    {
        if (_rows.TryGetValue(userId, out var entry) && entry.Version == changes.Version)
        {
            row = entry.Row;
            return true;
        }
        row = null!;
        return false;
    }

    /// <param name="readAt">The <see cref="Version"/> noted before the row was read from the database.</param>
    public void Add(string userId, TRow row, long readAt)
    {
        if (readAt != changes.Version) return;
        if (Volatile.Read(ref _count) >= capacity)
        {
            lock (_clearing)
            {
                if (Volatile.Read(ref _count) >= capacity)
                {
                    _rows.Clear();
                    Volatile.Write(ref _count, 0);
                }
            }
        }
        // A write that commits from here on advances the version, so this entry is never served.
        if (_rows.TryAdd(userId, (row, readAt))) Interlocked.Increment(ref _count);
        else _rows[userId] = (row, readAt);
    }
}
