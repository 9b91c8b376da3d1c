using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AuditStream : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "audit_stream_cursor",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    Seq = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_stream_cursor", x => x.Id);
                });

            migrationBuilder.InsertData(
                table: "audit_stream_cursor",
                columns: new[] { "Id", "Seq", "UpdatedAt" },
                values: new object[] { 1, 0L, null });

            migrationBuilder.InsertData(
                table: "job_leases",
                columns: new[] { "Name", "LeaseUntil", "NextRunAt", "Owner" },
                values: new object[] { "audit-stream", null, null, null });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_stream_cursor");

            migrationBuilder.DeleteData(
                table: "job_leases",
                keyColumn: "Name",
                keyValue: "audit-stream");
        }
    }
}
