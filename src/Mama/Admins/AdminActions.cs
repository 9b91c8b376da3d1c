namespace Mama.Admins;

/// <summary>
/// <see cref="AdminService"/> lives in a request scope (Identity's UserManager and a DbContext that tracks what it
/// reads). A UI circuit lasts hours, so each UI action gets a fresh scope: no stale reads, no shared context.
/// </summary>
public sealed class AdminActions(IServiceScopeFactory scopes)
{
    public async Task<T> RunAsync<T>(Func<AdminService, Task<T>> action)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<AdminService>());
    }

    public Task RunAsync(Func<AdminService, Task> action) => RunAsync<bool>(async admins =>
    {
        await action(admins);
        return true;
    });
}
