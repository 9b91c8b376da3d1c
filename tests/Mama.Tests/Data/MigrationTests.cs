using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.Data;

public sealed class MigrationTests
{
    [Fact]
    public void TheSqliteMigrationsCoverTheWholeModel()
    {
        using var db = new SqliteDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed: run dotnet ef migrations add … --context SqliteMamaDbContext");
    }

    [Fact]
    public void ThePostgresMigrationsCoverTheWholeModel()
    {
        using var db = new PostgresDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "The model changed: run dotnet ef migrations add … --context PostgresMamaDbContext");
    }
}
