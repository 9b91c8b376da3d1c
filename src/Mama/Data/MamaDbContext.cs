using Mama.Admins;
using Mama.ApiClients;
using Mama.Audit;
using Mama.LiteLlm;
using Mama.Rotation;
using Mama.Sessions;
using Mama.Users;
using Mama.Webhooks;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Mama.Data;

/// <summary>
/// The one model for both providers. Each provider has a derived context only so that its migrations
/// live apart (<see cref="SqliteMamaDbContext"/>, <see cref="PostgresMamaDbContext"/>).
/// Identity's <c>Users</c> set holds admin accounts; mama's users are <see cref="KeyUsers"/>.
/// </summary>
public abstract partial class MamaDbContext(DbContextOptions options)
    : IdentityDbContext<AdminAccount, IdentityRole, string>(options), IDataProtectionKeyContext
{
    public DbSet<User> KeyUsers => Set<User>();
    public DbSet<ApiClient> ApiClients => Set<ApiClient>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<AuditChainHead> AuditChainHead => Set<AuditChainHead>();
    public DbSet<AuditCheckpoint> AuditCheckpoints => Set<AuditCheckpoint>();
    public DbSet<AuditStreamCursor> AuditStreamCursor => Set<AuditStreamCursor>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<UiSessionRecord> UiSessions => Set<UiSessionRecord>();
    public DbSet<JobLease> JobLeases => Set<JobLease>();
    public DbSet<ProxyStateRow> ProxyState => Set<ProxyStateRow>();
    public DbSet<KeyRotation> KeyRotations => Set<KeyRotation>();
    public DbSet<KeyRotationItem> KeyRotationItems => Set<KeyRotationItem>();
    public DbSet<WebhookEndpoint> WebhookEndpoints => Set<WebhookEndpoint>();
    public DbSet<WebhookEvent> WebhookEvents => Set<WebhookEvent>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<AdminAccount>().ToTable("admin_accounts");
        builder.Entity<IdentityRole>().ToTable("admin_roles");
        builder.Entity<IdentityUserRole<string>>().ToTable("admin_account_roles");
        builder.Entity<IdentityUserClaim<string>>().ToTable("admin_account_claims");
        builder.Entity<IdentityUserLogin<string>>().ToTable("admin_account_logins");
        builder.Entity<IdentityUserToken<string>>().ToTable("admin_account_tokens");
        builder.Entity<IdentityRoleClaim<string>>().ToTable("admin_role_claims");
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
        builder.Entity<SignInAttempts>(attempts =>
        {
            attempts.ToTable("sign_in_attempts");
            attempts.HasKey(a => a.NameHash);
            attempts.Property(a => a.NameHash).HasMaxLength(64);
        });

        builder.Entity<UiSessionRecord>(session =>
        {
            session.ToTable("ui_sessions");
            session.Property(s => s.Id).HasMaxLength(64);
            session.Property(s => s.AccountId).HasMaxLength(64);
            session.Property(s => s.EndReason).HasMaxLength(32);
            session.HasIndex(s => s.AccountId);
        });

        builder.Entity<JobLease>(job =>
        {
            job.ToTable("job_leases");
            job.HasKey(j => j.Name);
            job.Property(j => j.Name).HasMaxLength(64);
            job.Property(j => j.Owner).HasMaxLength(64);
            job.HasData(new JobLease { Name = JobLease.DriftCheck }, new JobLease { Name = JobLease.KeyExpiry }, new JobLease { Name = JobLease.AuditStream });
        });

        builder.Entity<ProxyStateRow>(state =>
        {
            state.ToTable("litellm_proxy_state");
            state.Property(s => s.Id).ValueGeneratedNever();
            state.Property(s => s.CustomKeys).HasMaxLength(16);
            state.Property(s => s.CustomKeysReason).HasMaxLength(1000);
            state.HasData(new ProxyStateRow());
        });

        builder.Entity<User>(user =>
        {
            user.ToTable("users");
            user.HasIndex(u => u.UserId).IsUnique();
            // One key, one user: a unique index, since two concurrent creates with one key both pass the check before the insert.
            user.HasIndex(u => u.KeyHash).IsUnique();
            user.Property(u => u.KeyHash).HasMaxLength(64);
            user.HasIndex(u => u.Organization);
            // Covers the list's search and count, so they scan this instead of the much wider rows.
            user.HasIndex(u => new { u.UserId, u.Organization, u.DeletedAt });
            user.HasIndex(u => u.CreatedAt);
            user.HasIndex(u => u.UpdatedAt);
            user.HasIndex(u => new { u.SyncState, u.NextSyncAt });
            user.Property(u => u.UserId).HasMaxLength(128);
            user.Property(u => u.Organization).HasMaxLength(200);
            user.Property(u => u.ExtraInfo).HasMaxLength(4000);
            user.Property(u => u.KeyEncryptionKeyId).HasMaxLength(64);
            user.Property(u => u.KeyLastFour).HasMaxLength(4);
            user.Ignore(u => u.Models);
            user.Ignore(u => u.Services);
            user.Property(u => u.SyncState).HasConversion<string>().HasMaxLength(16);
            user.Property(u => u.SyncError).HasMaxLength(1000);
            user.Property(u => u.SyncLeaseOwner).HasMaxLength(64);
            user.Property(u => u.NextKeyHash).HasMaxLength(64);
            user.Property(u => u.NextKeyEncryptionKeyId).HasMaxLength(64);
            user.Property(u => u.NextKeyLastFour).HasMaxLength(4);
            user.Property(u => u.PreviousKeyHash).HasMaxLength(64);
            user.Property(u => u.PreviousKeyEncryptionKeyId).HasMaxLength(64);
            user.Property(u => u.PreviousKeyLastFour).HasMaxLength(4);
            user.Property(u => u.RotationId).HasMaxLength(32);
            // The revocations due, and the rotation filter of the list.
            user.HasIndex(u => u.PreviousKeyExpiresAt);
            user.HasIndex(u => u.RotationId);
            user.HasIndex(u => u.ExpiresAt);
            user.Property(u => u.Version).IsConcurrencyToken();
            user.HasMany(u => u.AllowedModels).WithOne().HasForeignKey(m => m.UserDbId).OnDelete(DeleteBehavior.Cascade);
            user.HasMany(u => u.AllowedServices).WithOne().HasForeignKey(s => s.UserDbId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<UserAllowedModel>(model =>
        {
            model.ToTable("user_allowed_models");
            model.HasKey(m => new { m.UserDbId, m.Name });
            model.HasIndex(m => m.Name);
            model.Property(m => m.Name).HasMaxLength(200);
        });
        builder.Entity<UserAllowedService>(service =>
        {
            service.ToTable("user_allowed_services");
            service.HasKey(s => new { s.UserDbId, s.Name });
            service.HasIndex(s => s.Name);
            service.Property(s => s.Name).HasMaxLength(200);
        });

        builder.Entity<ApiClient>(client =>
        {
            client.ToTable("api_clients");
            client.HasIndex(c => c.Name).IsUnique();
            client.HasIndex(c => c.TokenHash).IsUnique();
            client.Property(c => c.Name).HasMaxLength(100);
            client.Property(c => c.Service).HasMaxLength(200);
            client.Property(c => c.TokenHash).HasMaxLength(64);
            client.Property(c => c.Scope).HasConversion<string>().HasMaxLength(16);
        });

        builder.Entity<AuditEvent>(audit =>
        {
            audit.ToTable("audit_events");
            audit.HasIndex(a => a.At);
            audit.HasIndex(a => a.Actor);
            audit.HasIndex(a => a.Action);
            audit.Property(a => a.Actor).HasMaxLength(200);
            audit.Property(a => a.Action).HasMaxLength(64);
            audit.Property(a => a.Result).HasConversion<string>().HasMaxLength(16);
            audit.Property(a => a.Reason).HasMaxLength(1000);
            audit.Property(a => a.Ip).HasMaxLength(64);
            audit.Property(a => a.TraceId).HasMaxLength(64);
            audit.HasIndex(a => a.Seq).IsUnique();
            audit.Property(a => a.Hash).HasMaxLength(64);
        });
        builder.Entity<AuditChainHead>(head =>
        {
            head.ToTable("audit_chain");
            head.Property(h => h.Id).ValueGeneratedNever();
            head.Property(h => h.Hash).HasMaxLength(64);
            head.Property(h => h.AnchorHash).HasMaxLength(64);
            head.HasData(new AuditChainHead());
        });
        builder.Entity<AuditStreamCursor>(cursor =>
        {
            cursor.ToTable("audit_stream_cursor");
            cursor.Property(c => c.Id).ValueGeneratedNever();
            cursor.HasData(new AuditStreamCursor());
        });
        builder.Entity<AuditCheckpoint>(checkpoint =>
        {
            checkpoint.ToTable("audit_checkpoints");
            checkpoint.HasIndex(c => c.Seq).IsUnique();
            checkpoint.Property(c => c.Hash).HasMaxLength(64);
            checkpoint.Property(c => c.KeyId).HasMaxLength(32);
            checkpoint.Property(c => c.Signature).HasMaxLength(64);
            checkpoint.Property(c => c.PrevSignature).HasMaxLength(64);
        });

        builder.Entity<KeyRotation>(rotation =>
        {
            rotation.ToTable("key_rotations");
            rotation.Property(r => r.Id).HasMaxLength(32);
            rotation.Property(r => r.CreatedBy).HasMaxLength(200);
            rotation.Property(r => r.Trigger).HasMaxLength(16);
            rotation.HasIndex(r => r.CreatedAt);
        });
        builder.Entity<KeyRotationItem>(item =>
        {
            item.ToTable("key_rotation_items");
            item.HasKey(i => new { i.RotationId, i.UserDbId });
            item.HasIndex(i => i.UserDbId);
            item.Property(i => i.RotationId).HasMaxLength(32);
            item.Property(i => i.UserId).HasMaxLength(128);
            item.Property(i => i.State).HasMaxLength(16);
            item.Property(i => i.Error).HasMaxLength(1000);
            item.HasOne<KeyRotation>().WithMany().HasForeignKey(i => i.RotationId).OnDelete(DeleteBehavior.Cascade);
        });

        builder.Entity<WebhookEndpoint>(endpoint =>
        {
            endpoint.ToTable("webhook_endpoints");
            endpoint.Property(e => e.Url).HasMaxLength(2000);
            endpoint.Property(e => e.Events).HasMaxLength(500);
            endpoint.Property(e => e.SecretEncryptionKeyId).HasMaxLength(64);
            endpoint.Property(e => e.CreatedBy).HasMaxLength(200);
        });
        builder.Entity<WebhookEvent>(e =>
        {
            e.ToTable("webhook_events");
            e.HasIndex(x => x.MessageId).IsUnique();
            e.HasIndex(x => x.DispatchedAt);
            e.Property(x => x.MessageId).HasMaxLength(40);
            e.Property(x => x.Type).HasMaxLength(64);
        });
        builder.Entity<WebhookDelivery>(delivery =>
        {
            delivery.ToTable("webhook_deliveries");
            // One delivery per event and endpoint, so a fan-out repeated after a crash adds nothing.
            delivery.HasIndex(d => new { d.EventId, d.EndpointId }).IsUnique();
            delivery.HasIndex(d => new { d.State, d.NextAttemptAt });
            // Each endpoint's queue in event order: what the dispatcher's "no earlier pending event" rule looks up per candidate.
            delivery.HasIndex(d => new { d.EndpointId, d.State, d.EventId });
            delivery.Property(d => d.State).HasMaxLength(16);
            delivery.Property(d => d.LastError).HasMaxLength(1000);
            delivery.Property(d => d.LeaseOwner).HasMaxLength(64);
            delivery.HasOne<WebhookEvent>().WithMany().HasForeignKey(d => d.EventId).OnDelete(DeleteBehavior.Cascade);
            delivery.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(d => d.EndpointId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}

public sealed class SqliteMamaDbContext(DbContextOptions<SqliteMamaDbContext> options) : MamaDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configuration)
    {
        // SQLite cannot order or compare DateTimeOffset; store UTC ticks so ORDER BY and ranges work.
        configuration.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
        configuration.Properties<DateTimeOffset?>().HaveConversion<UtcTicksConverter>();
    }

    private sealed class UtcTicksConverter() : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
}

public sealed class PostgresMamaDbContext(DbContextOptions<PostgresMamaDbContext> options) : MamaDbContext(options);
