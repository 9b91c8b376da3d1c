using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Sqlite
{
    /// <summary>
    /// The list search's trigram index (SQLite only): an FTS5 table of each user row's ID and organisation, kept by
    /// triggers, so that a search finding a few users reads those instead of scanning every user with LIKE. It adds no
    /// entity to the model; <c>UserSearchIndex</c> queries it with SQL. A later migration that rebuilds <c>users</c> (EF's
    /// SQLite table rebuild drops and recreates it) drops the triggers with it and must create them again
    /// (<c>UserSearchIndexTests</c> fails otherwise).
    /// </summary>
    [DbContext(typeof(SqliteMamaDbContext))]
    [Migration("20261130220000_UserSearchTrigrams")]
    public partial class UserSearchTrigrams : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""CREATE VIRTUAL TABLE "users_search" USING fts5("UserId", "Organization", tokenize = 'trigram');""");
            migrationBuilder.Sql("""INSERT INTO "users_search" (rowid, "UserId", "Organization") SELECT "Id", "UserId", "Organization" FROM "users";""");
            migrationBuilder.Sql("""
                CREATE TRIGGER "users_search_insert" AFTER INSERT ON "users" BEGIN
                    INSERT INTO "users_search" (rowid, "UserId", "Organization") VALUES (new."Id", new."UserId", new."Organization");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "users_search_update" AFTER UPDATE OF "Id", "UserId", "Organization" ON "users" BEGIN
                    DELETE FROM "users_search" WHERE rowid = old."Id";
                    INSERT INTO "users_search" (rowid, "UserId", "Organization") VALUES (new."Id", new."UserId", new."Organization");
                END;
                """);
            migrationBuilder.Sql("""
                CREATE TRIGGER "users_search_delete" AFTER DELETE ON "users" BEGIN
                    DELETE FROM "users_search" WHERE rowid = old."Id";
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""DROP TRIGGER "users_search_delete";""");
            migrationBuilder.Sql("""DROP TRIGGER "users_search_update";""");
            migrationBuilder.Sql("""DROP TRIGGER "users_search_insert";""");
            migrationBuilder.Sql("""DROP TABLE "users_search";""");
        }
    }
}
