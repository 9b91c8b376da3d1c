using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class WebhookQueueIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_EndpointId",
                table: "webhook_deliveries");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_EndpointId_State_EventId",
                table: "webhook_deliveries",
                columns: new[] { "EndpointId", "State", "EventId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_webhook_deliveries_EndpointId_State_EventId",
                table: "webhook_deliveries");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_EndpointId",
                table: "webhook_deliveries",
                column: "EndpointId");
        }
    }
}
