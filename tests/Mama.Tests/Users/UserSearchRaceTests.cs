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
/// A search through SQLite's trigram index while another admin writes: the index is read before the page, so a write
/// that commits in between must not leave the list's cached total behind the users the next search shows.
/// </summary>
public sealed class UserSearchRaceTests(UserSearchRaceTests.GatedApp app) : IClassFixture<UserSearchRaceTests.GatedApp>
{
    /// <summary>A SQLite mama whose next read of the search index for one text can be held once it has read its rows.</summary>
    public sealed class GatedApp : MamaApp
    {
        public IndexReadGate Gate { get; } = new();

        protected override string Provider => "sqlite";

        protected override void ConfigureHost(IWebHostBuilder builder) =>
            builder.ConfigureServices(services => services.ConfigureDbContext<SqliteMamaDbContext>(o => o.AddInterceptors(Gate)));
    }

    public sealed class IndexReadGate : DbCommandInterceptor
    {
        private sealed record Armed(string Phrase, TaskCompletionSource Held, TaskCompletionSource Release);

        private Armed? _armed;

        /// <summary>Holds the next index read for this search after its rows are read; <c>Held</c> completes then, and the read goes on at <c>Release</c>.</summary>
        public (Task Held, TaskCompletionSource Release) Arm(string search)
        {
            var armed = new Armed(UserSearchIndex.MatchExpression(search), new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));
            _armed = armed;
            return (armed.Held.Task, armed.Release);
        }

        public override async ValueTask<InterceptionResult> DataReaderClosingAsync(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
        {
            if (Volatile.Read(ref _armed) is { } armed && command.CommandText.Contains("MATCH", StringComparison.Ordinal)
                && command.Parameters.Cast<DbParameter>().Any(p => p.Value as string == armed.Phrase)
                && Interlocked.CompareExchange(ref _armed, null, armed) == armed)
            {
                armed.Held.SetResult();
                await armed.Release.Task;
            }
            return result;
        }
    }

    private static async Task<UserPage> SearchAsync(HttpClient admin, string search) =>
        await (await admin.GetAsync($"/api/v1/users?search={Uri.EscapeDataString(search)}&sort=user_id&page_size=50")).ReadAsync<UserPage>();

    [Fact]
    public async Task AUserCreatedWhileASearchHoldsWhatTheIndexFoundIsCountedByTheNextSearch()
    {
        using var admin = await app.SuperAdminAsync();
        var organization = "race-" + UserSearchTests.Tag();
        // Users of another organisation, so that the search's page reads the (empty) rows the index finds.
        await admin.CreateUsersAsync(3, organization: "calm" + organization[4..]);
        var (held, release) = app.Gate.Arm(organization);

        var searching = SearchAsync(admin, organization);
        await held.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        List<string> created;
        try
        {
            created = await admin.CreateUsersAsync(1, organization: organization);
            // Its sync's write too: no later write to users may hide a total left behind.
            await MamaApp.EventuallyAsync(async () => (await (await admin.GetAsync($"/api/v1/users/{created[0]}")).ReadAsync<UserResponse>()).SyncState == "synced", "the user is synced");
        }
        finally
        {
            release.SetResult();
        }
        var during = await searching;
        var after = await SearchAsync(admin, organization);

        Assert.Equal(during.Items.Count, during.Total);
        Assert.Equal(created, after.Items.Select(u => u.UserId));
        Assert.Equal(1, after.Total);
    }
}
