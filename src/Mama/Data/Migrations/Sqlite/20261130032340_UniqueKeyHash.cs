using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class UniqueKeyHash : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_users_KeyHash",
                table: "users");

            migrationBuilder.CreateIndex(
                name: "IX_users_KeyHash",
                table: "users",
                column: "KeyHash",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_users_KeyHash",
                table: "users");

            migrationBuilder.CreateIndex(
                name: "IX_users_KeyHash",
                table: "users",
                column: "KeyHash");
        }
    }
}
