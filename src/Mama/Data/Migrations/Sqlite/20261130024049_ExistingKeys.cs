using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ExistingKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "KeyLiveAt",
                table: "users",
                type: "INTEGER",
                nullable: true);

            // Keys synced before this column existed have reached the proxy: live since their last sync.
            migrationBuilder.Sql("UPDATE \"users\" SET \"KeyLiveAt\" = \"LastSyncedAt\" WHERE \"LastSyncedAt\" IS NOT NULL;");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "KeyLiveAt",
                table: "users");
        }
    }
}
