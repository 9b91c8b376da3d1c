using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ProxyMintedKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "MintRequestedAt",
                table: "users",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "litellm_proxy_state",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    CustomKeys = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    CustomKeysCheckedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CustomKeysReason = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_litellm_proxy_state", x => x.Id);
                });

            migrationBuilder.InsertData(
                table: "litellm_proxy_state",
                columns: new[] { "Id", "CustomKeys", "CustomKeysCheckedAt", "CustomKeysReason" },
                values: new object[] { 1, "unknown", null, null });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "litellm_proxy_state");

            migrationBuilder.DropColumn(
                name: "MintRequestedAt",
                table: "users");
        }
    }
}
