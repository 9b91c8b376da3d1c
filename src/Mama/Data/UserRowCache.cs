using System.Collections.Concurrent;

namespace Mama.Data;

/// <summary>
/// Rows of the <c>users</c> table kept in memory by a text key (a user ID for the lookups' rows; a search or a filter
/// for the list's probes and totals), valid until the next committed write to the table
/// (<see cref="UserTableChanges"/>). Callers note <see cref="Version"/> before they read the database and pass it to
/// <see cref="Add"/>, so a row read while a write committed is never served. A committed write drops every row (none
/// is valid after it, and the lookups' rows hold decrypted keys); when full, it starts over. A generation number
/// rather than a change token per entry: a write then costs one increment and one clear, not one callback per row.
/// </summary>
public sealed class UserRowCache<TRow> where TRow : class
{
    private readonly ConcurrentDictionary<string, (TRow Row, long Version)> _rows = new(StringComparer.Ordinal);
    private readonly Lock _clearing = new();
    private readonly UserTableChanges _changes;
    private readonly int _capacity;
    private int _count;

    public UserRowCache(UserTableChanges changes, int capacity)
    {
        _changes = changes;
        _capacity = capacity;
        changes.Advanced += Clear;
    }

    /// <summary>How many rows it holds, served or not.</summary>
    public int Count => _rows.Count;

    public long Version => _changes.Version;

    public bool TryGet(string userId, out TRow row)
    {
        if (_rows.TryGetValue(userId, out var entry) && entry.Version == _changes.Version)
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
        if (readAt != _changes.Version) return;
        if (Volatile.Read(ref _count) >= _capacity)
        {
            lock (_clearing)
            {
                if (Volatile.Read(ref _count) >= _capacity) ClearHeld();
            }
        }
        var entry = (row, readAt);
        if (_rows.TryAdd(userId, entry)) Interlocked.Increment(ref _count);
        else _rows[userId] = entry;
        // A write that committed since the check above is never served this entry; nor does the entry outlive that
        // write's clear, which may have run before it was added.
        if (readAt != _changes.Version) _rows.TryRemove(KeyValuePair.Create(userId, entry));
    }

    private void Clear()
    {
        lock (_clearing) ClearHeld();
    }

    private void ClearHeld()
    {
        _rows.Clear();
        Volatile.Write(ref _count, 0);
    }
}
