using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ProxyMintedKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "MintRequestedAt",
                table: "users",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "litellm_proxy_state",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    CustomKeys = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    CustomKeysCheckedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    CustomKeysReason = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: true)
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
