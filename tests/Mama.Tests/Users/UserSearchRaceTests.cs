using System.Data.Common;
using Mama.Data;
using Mama.Tests.Infrastructure;
using Mama.Users;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace Mama.Tests.Users;

/// <summary>
/// The list while another admin writes (SQLite, where totals are cached until the next write): a write that commits
/// between a list's reads must not leave its total behind the users it, or the next list, shows.
/// </summary>
public sealed class UserSearchRaceTests(UserSearchRaceTests.GatedApp app) : IClassFixture<UserSearchRaceTests.GatedApp>
{
    /// <summary>A SQLite mama whose next read of one kind can be held.</summary>
    public sealed class GatedApp : MamaApp
    {
        public ReadGate Gate { get; } = new();

        protected override string Provider => "sqlite";

        protected override void ConfigureHost(IWebHostBuilder builder) =>
            builder.ConfigureServices(services => services.ConfigureDbContext<SqliteMamaDbContext>(o => o.AddInterceptors(Gate)));
    }

    public sealed class ReadGate : DbCommandInterceptor
    {
        private sealed record Armed(Func<DbCommand, bool> Which, bool AfterRead, TaskCompletionSource Held, TaskCompletionSource Release);

        private Armed? _armed;

        /// <summary>
        /// Holds the next command <paramref name="which"/> picks, before it runs or once its rows are read;
        /// <c>Held</c> completes then, and it goes on at <c>Release</c>.
        /// </summary>
        public (Task Held, TaskCompletionSource Release) Arm(Func<DbCommand, bool> which, bool afterRead)
        {
            var armed = new Armed(which, afterRead, new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
            _armed = armed;
            return (armed.Held.Task, armed.Release);
        }

        public static Func<DbCommand, bool> Reading(string parameterValue) => command => command.Parameters.Cast<DbParameter>().Any(p => p.Value as string == parameterValue);

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result,
            CancellationToken cancellationToken = default)
        {
            await HoldAsync(command, afterRead: false);
            return result;
        }

        public override async ValueTask<InterceptionResult> DataReaderClosingAsync(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
        {
            await HoldAsync(command, afterRead: true);
            return result;
        }

        private async Task HoldAsync(DbCommand command, bool afterRead)
        {
            if (Volatile.Read(ref _armed) is { } armed && armed.AfterRead == afterRead && armed.Which(command) && Interlocked.CompareExchange(ref _armed, null, armed) == armed)
            {
                armed.Held.SetResult();
                await armed.Release.Task;
            }
        }
    }

    private static async Task<UserPage> ListAsync(HttpClient admin, string filter) =>
        await (await admin.GetAsync($"/api/v1/users?{filter}&sort=user_id&page_size=50")).ReadAsync<UserPage>();

    /// <summary>Runs <paramref name="list"/> held where the gate is armed, while a user of <paramref name="organization"/> is created and synced.</summary>
    private async Task<(UserPage During, string Created)> CreateWhileHeldAsync(HttpClient admin, (Task Held, TaskCompletionSource Release) gate, Func<Task<UserPage>> list, string organization)
    {
        var listing = list();
        await gate.Held.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        string created;
        try
        {
            created = (await admin.CreateUsersAsync(1, organization: organization))[0];
            // Its sync's write too: no later write to users may hide a total left behind.
            await MamaApp.EventuallyAsync(async () => (await (await admin.GetAsync($"/api/v1/users/{created}")).ReadAsync<UserResponse>()).SyncState == "synced", "the user is synced");
        }
        finally
        {
            gate.Release.TrySetResult();
        }
        return (await listing, created);
    }

    [Fact]
    public async Task AUserCreatedWhileASearchHoldsWhatTheIndexFoundIsCountedByTheNextSearch()
    {
        using var admin = await app.SuperAdminAsync();
        var organization = "race-" + UserSearchTests.Tag();
        // Users of another organisation, so that the search's page reads the (empty) rows the index finds.
        await admin.CreateUsersAsync(3, organization: "calm" + organization[4..]);
        var search = () => ListAsync(admin, $"search={organization}");

        var (during, created) = await CreateWhileHeldAsync(admin, app.Gate.Arm(ReadGate.Reading(UserSearchIndex.MatchExpression(organization)), afterRead: true), search, organization);
        var after = await search();

        Assert.Equal(during.Items.Count, during.Total);
        Assert.Equal([created], after.Items.Select(u => u.UserId));
        Assert.Equal(1, after.Total);
    }

    [Fact]
    public async Task AUserCreatedWhileAListWithACachedTotalReadsItsPageIsCountedInThatList()
    {
        using var admin = await app.SuperAdminAsync();
        var organization = "race-" + UserSearchTests.Tag();
        var list = () => ListAsync(admin, $"organization={organization}");
        var before = await list(); // counts 0, cached until the next write

        var (during, created) = await CreateWhileHeldAsync(admin, app.Gate.Arm(ReadGate.Reading(organization), afterRead: false), list, organization);

        Assert.Equal(0, before.Total);
        Assert.Equal([created], during.Items.Select(u => u.UserId));
        Assert.Equal(1, during.Total);
    }
}
