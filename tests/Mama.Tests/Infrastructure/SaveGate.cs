using System.Diagnostics;
using Mama.Users;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Mama.Tests.Infrastructure;

/// <summary>
/// Holds the one save in this process that changes a given user, just before it writes (and before it takes the write
/// lock), until the test opens the gate: a database that answers one call of a batch late, so a test can look at the UI
/// in between without timing anything.
/// Watched through EF Core's diagnostic events (like <see cref="KeySaves"/>); the held save's thread waits, as on a lock.
/// </summary>
public sealed class SaveGate : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly string _userId;
    private readonly IDisposable _all;
    private readonly List<IDisposable> _listeners = [];
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _open = new();
    private int _held;

    public SaveGate(string userId)
    {
        _userId = userId;
        _all = DiagnosticListener.AllListeners.Subscribe(this);
    }

    /// <summary>Completes when the save has started and is being held.</summary>
    public Task Reached => _reached.Task;

    public void Open() => _open.Set();

    public void OnNext(DiagnosticListener value)
    {
        if (value.Name == DbLoggerCategory.Name)
            lock (_listeners) _listeners.Add(value.Subscribe(this));
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        // A save that chains audit events begins its transaction first, and on SQLite that BEGIN IMMEDIATE takes the write
        // lock: held there, every other writer would wait on the busy timeout with a pool thread blocked each, and the
        // test's own continuation would starve. So the save is held before whichever of the two comes first.
        if ((value.Key != CoreEventId.SaveChangesStarting.Name && value.Key != RelationalEventId.TransactionStarting.Name)
            || value.Value is not DbContextEventData { Context: { } context }) return;
        if (!context.ChangeTracker.Entries<User>().Any(e => e.State == EntityState.Modified && e.Entity.UserId == _userId)) return;
        if (Interlocked.Exchange(ref _held, 1) == 1) return;
        _reached.TrySetResult();
        // Bounded, so a test that fails before opening the gate cannot hang the run.
        _open.Wait(TimeSpan.FromMinutes(2));
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        _open.Set();
        _all.Dispose();
        lock (_listeners) _listeners.ForEach(l => l.Dispose());
    }
}
