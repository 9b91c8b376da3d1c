using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Mama.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class KeyRotation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "ExpiresAt",
                table: "users",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "ExpiryWarnedFor",
                table: "users",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "NextKeyCiphertext",
                table: "users",
                type: "BLOB",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NextKeyEncryptionKeyId",
                table: "users",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NextKeyHash",
                table: "users",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "NextKeyLastFour",
                table: "users",
                type: "TEXT",
                maxLength: 4,
                nullable: true);

            migrationBuilder.AddColumn<byte[]>(
                name: "PreviousKeyCiphertext",
                table: "users",
                type: "BLOB",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PreviousKeyEncryptionKeyId",
                table: "users",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "PreviousKeyExpiresAt",
                table: "users",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PreviousKeyHash",
                table: "users",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PreviousKeyLastFour",
                table: "users",
                type: "TEXT",
                maxLength: 4,
                nullable: true);

            migrationBuilder.AddColumn<TimeSpan>(
                name: "RotationGrace",
                table: "users",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "RotationId",
                table: "users",
                type: "TEXT",
                maxLength: 32,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "key_rotations",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Grace = table.Column<TimeSpan>(type: "TEXT", nullable: false),
                    Trigger = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Total = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_key_rotations", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "webhook_endpoints",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Url = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    Events = table.Column<string>(type: "TEXT", maxLength: 500, nullable: false),
                    SecretCiphertext = table.Column<byte[]>(type: "BLOB", nullable: false),
                    SecretEncryptionKeyId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_endpoints", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "webhook_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    MessageId = table.Column<string>(type: "TEXT", maxLength: 40, nullable: false),
                    Type = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Payload = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    DispatchedAt = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "key_rotation_items",
                columns: table => new
                {
                    RotationId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    UserDbId = table.Column<long>(type: "INTEGER", nullable: false),
                    UserId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Error = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    LiveAt = table.Column<long>(type: "INTEGER", nullable: true),
                    RevokedAt = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_key_rotation_items", x => new { x.RotationId, x.UserDbId });
                    table.ForeignKey(
                        name: "FK_key_rotation_items_key_rotations_RotationId",
                        column: x => x.RotationId,
                        principalTable: "key_rotations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "webhook_deliveries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    EventId = table.Column<long>(type: "INTEGER", nullable: false),
                    EndpointId = table.Column<long>(type: "INTEGER", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    NextAttemptAt = table.Column<long>(type: "INTEGER", nullable: false),
                    DeliveredAt = table.Column<long>(type: "INTEGER", nullable: true),
                    LastStatus = table.Column<int>(type: "INTEGER", nullable: true),
                    LastError = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true),
                    LeaseOwner = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    LeaseUntil = table.Column<long>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_webhook_deliveries", x => x.Id);
                    table.ForeignKey(
                        name: "FK_webhook_deliveries_webhook_endpoints_EndpointId",
                        column: x => x.EndpointId,
                        principalTable: "webhook_endpoints",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_webhook_deliveries_webhook_events_EventId",
                        column: x => x.EventId,
                        principalTable: "webhook_events",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_users_ExpiresAt",
                table: "users",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_users_PreviousKeyExpiresAt",
                table: "users",
                column: "PreviousKeyExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_users_RotationId",
                table: "users",
                column: "RotationId");

            migrationBuilder.CreateIndex(
                name: "IX_key_rotation_items_UserDbId",
                table: "key_rotation_items",
                column: "UserDbId");

            migrationBuilder.CreateIndex(
                name: "IX_key_rotations_CreatedAt",
                table: "key_rotations",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_EndpointId",
                table: "webhook_deliveries",
                column: "EndpointId");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_EventId_EndpointId",
                table: "webhook_deliveries",
                columns: new[] { "EventId", "EndpointId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_webhook_deliveries_State_NextAttemptAt",
                table: "webhook_deliveries",
                columns: new[] { "State", "NextAttemptAt" });

            migrationBuilder.CreateIndex(
                name: "IX_webhook_events_DispatchedAt",
                table: "webhook_events",
                column: "DispatchedAt");

            migrationBuilder.CreateIndex(
                name: "IX_webhook_events_MessageId",
                table: "webhook_events",
                column: "MessageId",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "key_rotation_items");

            migrationBuilder.DropTable(
                name: "webhook_deliveries");

            migrationBuilder.DropTable(
                name: "key_rotations");

            migrationBuilder.DropTable(
                name: "webhook_endpoints");

            migrationBuilder.DropTable(
                name: "webhook_events");

            migrationBuilder.DropIndex(
                name: "IX_users_ExpiresAt",
                table: "users");

            migrationBuilder.DropIndex(
                name: "IX_users_PreviousKeyExpiresAt",
                table: "users");

            migrationBuilder.DropIndex(
                name: "IX_users_RotationId",
                table: "users");

            migrationBuilder.DropColumn(
                name: "ExpiresAt",
                table: "users");

            migrationBuilder.DropColumn(
                name: "ExpiryWarnedFor",
                table: "users");

            migrationBuilder.DropColumn(
                name: "NextKeyCiphertext",
                table: "users");

            migrationBuilder.DropColumn(
                name: "NextKeyEncryptionKeyId",
                table: "users");

            migrationBuilder.DropColumn(
                name: "NextKeyHash",
                table: "users");

            migrationBuilder.DropColumn(
                name: "NextKeyLastFour",
                table: "users");

            migrationBuilder.DropColumn(
                name: "PreviousKeyCiphertext",
                table: "users");

            migrationBuilder.DropColumn(
                name: "PreviousKeyEncryptionKeyId",
                table: "users");

            migrationBuilder.DropColumn(
                name: "PreviousKeyExpiresAt",
                table: "users");

            migrationBuilder.DropColumn(
                name: "PreviousKeyHash",
                table: "users");

            migrationBuilder.DropColumn(
                name: "PreviousKeyLastFour",
                table: "users");

            migrationBuilder.DropColumn(
                name: "RotationGrace",
                table: "users");

            migrationBuilder.DropColumn(
                name: "RotationId",
                table: "users");
        }
    }
}
