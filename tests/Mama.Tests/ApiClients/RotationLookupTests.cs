using System.Net;
using System.Text.Json;
using Mama.ApiClients;
using Mama.LiteLlm;
using Mama.Security;
using Mama.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Mama.Tests.ApiClients;

/// <summary>
/// What lookups say about rotation and expiry. The previous-key and expiry columns are set directly in the database,
/// as a rotation's swap and the expiry would set them, so these tests hold whatever the sync does.
/// </summary>
public abstract class RotationLookupTests(MamaApp app)
{
    [Fact]
    public async Task DuringTheGraceWindowLookupsAlsoReturnThePreviousKeyWithItsEndAndAfterItOnlyTheCurrentKey()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await app.NewLookupClientAsync(admin);
        var current = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        var before = await OneAsync(client, id);
        Assert.False(before.TryGetProperty("previous_key", out _));
        Assert.False(before.TryGetProperty("previous_key_expires_at", out _));

        var previous = KeyProtector.NewLiteLlmKey();
        // Whole seconds: PostgreSQL keeps microseconds, SQLite ticks; both keep a whole second exactly.
        var ends = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds());
        await SetPreviousKeyAsync(id, previous, ends);

        var during = await OneAsync(client, id);
        Assert.Equal(current, during.GetProperty("key").GetString());
        Assert.Equal(previous, during.GetProperty("previous_key").GetString());
        Assert.Equal(ends, during.GetProperty("previous_key_expires_at").GetDateTimeOffset());
        var batch = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).ReadAsync<LookupResponse>();
        Assert.Equal((current, previous, ends), (batch.Users[0].Key, batch.Users[0].PreviousKey, batch.Users[0].PreviousKeyExpiresAt));
        await AssertLegacyShapeAsync(client, id, current);

        // The window ends with no write to the row: the answer changes with the clock, not only with the row (or its cache).
        await SetPreviousKeyAsync(id, previous, DateTimeOffset.UtcNow.AddSeconds(2));
        await MamaApp.EventuallyAsync(async () => !(await OneAsync(client, id)).TryGetProperty("previous_key", out _), "the previous key is left out once its window ends");
        var after = await OneAsync(client, id);
        Assert.Equal(current, after.GetProperty("key").GetString());
        Assert.False(after.TryGetProperty("previous_key_expires_at", out _));
        Assert.DoesNotContain(previous, after.GetRawText());
    }

    [Fact]
    public async Task ThePreviousKeyIsGoneFromLookupsOnceItsSlotIsClearedEvenInsideTheWindow()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await app.NewLookupClientAsync(admin);
        var previous = KeyProtector.NewLiteLlmKey();
        await SetPreviousKeyAsync(id, previous, DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal(previous, (await OneAsync(client, id)).GetProperty("previous_key").GetString());

        // As the revocation clears it (an ExecuteUpdate): a cached row must not outlive it.
        await using (var db = app.NewDbContext())
            await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s
                .SetProperty(u => u.PreviousKeyCiphertext, (byte[]?)null).SetProperty(u => u.PreviousKeyEncryptionKeyId, (string?)null)
                .SetProperty(u => u.PreviousKeyHash, (string?)null).SetProperty(u => u.PreviousKeyLastFour, (string?)null)
                .SetProperty(u => u.PreviousKeyExpiresAt, (DateTimeOffset?)null));

        Assert.False((await OneAsync(client, id)).TryGetProperty("previous_key", out _));
    }

    [Fact]
    public async Task AnExpiredKeyIsNotUsableAndSaysExpiredWhileTheLegacyEndpointsKeepTheirShape()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await app.NewLookupClientAsync(admin);
        var current = app.LiteLlm.FindKeyByAlias(id)!.Key!;
        await MamaApp.EventuallyAsync(async () => (await OneAsync(client, id)).GetProperty("usable").GetBoolean(), "the new key is usable");
        Assert.False((await OneAsync(client, id)).GetProperty("expired").GetBoolean());

        await SetExpiresAtAsync(id, DateTimeOffset.UtcNow.AddHours(1));
        var ahead = await OneAsync(client, id);
        Assert.Equal((false, true), (ahead.GetProperty("expired").GetBoolean(), ahead.GetProperty("usable").GetBoolean()));

        await SetExpiresAtAsync(id, DateTimeOffset.UtcNow.AddMinutes(-1));
        var expired = await OneAsync(client, id);
        Assert.Equal((true, false), (expired.GetProperty("expired").GetBoolean(), expired.GetProperty("usable").GetBoolean()));
        Assert.Equal(current, expired.GetProperty("key").GetString());
        var batch = await (await client.PostJsonAsync("/api/v1/keys/lookup", new { user_ids = new[] { id } })).ReadAsync<LookupResponse>();
        Assert.Equal((true, false), (batch.Users[0].Expired, batch.Users[0].Usable));
        await AssertLegacyShapeAsync(client, id, current);
    }

    [Fact]
    public async Task AKeyWhoseExpiryPassesWithoutAWriteTurnsExpired()
    {
        using var admin = await app.SuperAdminAsync();
        var id = (await admin.CreateUsersAsync(1))[0];
        var (client, _) = await app.NewLookupClientAsync(admin);
        await SetExpiresAtAsync(id, DateTimeOffset.UtcNow.AddSeconds(2));

        await MamaApp.EventuallyAsync(async () => (await OneAsync(client, id)).GetProperty("expired").GetBoolean(), "the key turns expired when its time comes");

        Assert.False((await OneAsync(client, id)).GetProperty("usable").GetBoolean());
    }

    private static async Task<JsonElement> OneAsync(HttpClient client, string id)
    {
        var response = await client.GetAsync($"/api/v1/keys/{id}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The earlier mama's endpoints answer exactly as before: the current key only, in their own field names.</summary>
    private static async Task AssertLegacyShapeAsync(HttpClient client, string id, string current)
    {
        var one = JsonDocument.Parse(await (await client.GetAsync($"/key/{id}")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["key"], one.EnumerateObject().Select(p => p.Name));
        Assert.Equal(current, one.GetProperty("key").GetString());
        var many = await client.PostAsync("/key/info", new StringContent(JsonSerializer.Serialize(new { user_ids = new[] { id } }), System.Text.Encoding.UTF8, "application/json"));
        var rows = JsonDocument.Parse(await many.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
        Assert.Equal(["user_id", "user_key"], Assert.Single(rows).EnumerateObject().Select(p => p.Name));
        Assert.Equal(current, rows[0].GetProperty("user_key").GetString());
    }

    private async Task SetPreviousKeyAsync(string id, string key, DateTimeOffset ends)
    {
        var protector = app.Service<KeyProtector>();
        var ciphertext = protector.Protect(key, id);
        await using var db = app.NewDbContext();
        Assert.Equal(1, await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s
            .SetProperty(u => u.PreviousKeyCiphertext, ciphertext).SetProperty(u => u.PreviousKeyEncryptionKeyId, protector.CurrentKeyId)
            .SetProperty(u => u.PreviousKeyHash, LiteLlmClient.HashKey(key)).SetProperty(u => u.PreviousKeyLastFour, key[^4..])
            .SetProperty(u => u.PreviousKeyExpiresAt, ends)));
    }

    private async Task SetExpiresAtAsync(string id, DateTimeOffset expiresAt)
    {
        await using var db = app.NewDbContext();
        Assert.Equal(1, await db.KeyUsers.Where(u => u.UserId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.ExpiresAt, expiresAt)));
    }
}

public sealed class RotationLookupTestsOnSqlite(SqliteApp app) : RotationLookupTests(app), IClassFixture<SqliteApp>;
public sealed class RotationLookupTestsOnPostgres(PostgresApp app) : RotationLookupTests(app), IClassFixture<PostgresApp>;
