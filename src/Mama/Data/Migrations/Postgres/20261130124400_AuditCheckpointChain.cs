using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AuditCheckpointChain : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PrevSignature",
                table: "audit_checkpoints",
                type: "character varying(64)",
                maxLength: 64,
                nullable: false,
                defaultValue: "");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "PrevSignature",
                table: "audit_checkpoints");
        }
    }
}
