using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class KeyExpiry : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.InsertData(
                table: "job_leases",
                columns: new[] { "Name", "LeaseUntil", "NextRunAt", "Owner" },
                values: new object[] { "key-expiry", null, null, null });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DeleteData(
                table: "job_leases",
                keyColumn: "Name",
                keyValue: "key-expiry");
        }
    }
}
