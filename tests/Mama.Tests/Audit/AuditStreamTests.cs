using Mama.Audit;
using Mama.Http;
using Mama.Tests.Infrastructure;
using Mama.Tests.Observability;
using Mama.Tests.Webhooks;
using Mama.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StandardWebhooks.Diagnostics;

namespace Mama.Tests.Audit;

/// <summary>The audit stream against a real receiver on 127.0.0.1; each test on a database of its own.</summary>
public abstract class AuditStreamTests(string provider)
{
    [Fact]
    public async Task EveryEventArrivesOnceInSeqOrderSignedInBatchesAndTheLagFallsToZero()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, receiver.Url);

        await app.WriteEventsAsync(23);
        await app.CaughtUpAsync("the stream delivers every event");

        var head = await app.HeadAsync();
        var delivered = receiver.Acknowledged();
        Assert.Equal(AuditStreamReceived.Dense(1, head), delivered.Seqs().Take((int)head));
        await using var db = app.NewDbContext();
        var stored = await db.AuditEvents.AsNoTracking().Where(e => e.Seq <= head).OrderBy(e => e.Seq).ToListAsync();
        Assert.Equal(stored.Select(e => (e.Id, e.Hash, e.Action)), delivered.Take((int)head).Select(l =>
            (l.GetProperty("id").GetInt64(), l.GetProperty("hash").GetString(), l.GetProperty("action").GetString()!)));
        Assert.All(delivered, l => Assert.True(l.TryGetProperty("time", out _) && l.TryGetProperty("user_ids", out _) && l.TryGetProperty("detail", out _)));
        foreach (var batch in receiver.Received)
        {
            batch.Verify(AuditStreamApp.Secret);
            var seqs = batch.Lines.Seqs();
            Assert.InRange(seqs.Count, 1, AuditStreamApp.BatchSize);
            Assert.Equal($"audit-{seqs[0]}-{seqs[^1]}", batch.Id);
            Assert.StartsWith("application/x-ndjson", batch.Headers.ContentType.ToString());
        }
        Assert.Equal(receiver.Received.Count, receiver.Received.Select(r => r.Id).Distinct().Count());
        // The check can fail: another secret, or a changed line, does not verify.
        Assert.Throws<WebhookVerificationException>(() => receiver.Received[0].Verify(Mama.Webhooks.WebhookService.NewSecret()));
        Assert.Throws<WebhookVerificationException>(() => (receiver.Received[0] with { Body = receiver.Received[0].Body.Replace("\"seq\":1,", "\"seq\":2,") }).Verify(AuditStreamApp.Secret));
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.Lag() == 0), "the lag gauge reads 0 once caught up");
        Assert.Equal(await app.CursorAsync(), await app.Service<AuditStream>().DeliveredThroughAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ABatchAnswered500IsSentAgainWithTheSameIdUntilAcknowledgedAndNothingIsSkippedOrReordered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, receiver.Url);
        await app.CaughtUpAsync("the start-up events are delivered");
        var before = receiver.Received.Count;
        var logsBefore = app.Logs.Count;
        using var metrics = new MetricsRecorder(app.Service<Mama.Observability.MamaMetrics>().Meter);
        receiver.Answer = (_, earlier) => earlier < 3 ? 500 : 200;

        await app.WriteEventsAsync(12);
        await app.CaughtUpAsync("every batch is acknowledged in the end");

        var attempts = receiver.Received.Skip(before).ToList();
        var batches = attempts.Select(a => a.Id).Distinct().ToList();
        // Each batch: three 500s, then the 200, before the next batch is tried.
        Assert.Equal(batches.SelectMany(id => new[] { (id, 500), (id, 500), (id, 500), (id, 200) }), attempts.Select(a => (a.Id, a.AnsweredWith)));
        Assert.All(batches, id => Assert.Single(attempts.Where(a => a.Id == id).Select(a => a.Body).Distinct()));
        Assert.Equal(AuditStreamReceived.Dense(1, await app.HeadAsync()), receiver.Acknowledged().Seqs().Take((int)await app.HeadAsync()));
        Assert.Equal(3 * batches.Count, metrics["mama.audit.stream.failures"]);
        Assert.Equal(attempts.Where(a => a.AnsweredWith == 200).Sum(a => a.Lines.Count), metrics["mama.audit.stream.delivered"]);
        // One line when the stream starts failing and one when it recovers, per batch here; never the URL's query or the secret.
        var lines = app.Logs.Since(logsBefore).Where(l => l.Category == typeof(AuditStream).FullName).ToList();
        Assert.Equal(batches.Count, lines.Count(l => l.Level == LogLevel.Warning && l.Message.Contains("is failing")));
        Assert.Equal(batches.Count, lines.Count(l => l.Message.Contains("recovered")));
        Assert.Equal(2 * batches.Count, lines.Count);
        Assert.All(app.Logs.Since(0), l => Assert.DoesNotContain("source=mama", l.Message));
        Assert.All(app.Logs.Since(0), l => Assert.DoesNotContain(AuditStreamApp.Secret["whsec_".Length..], l.Message));
    }

    [Fact]
    public async Task ARestartedHostResumesFromTheDurableCursorWithoutRepeatingAcknowledgedBatches()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, receiver.Url);
        await app.WriteEventsAsync(8);
        await app.CaughtUpAsync("the first events are delivered");
        var acknowledgedThrough = await app.CursorAsync();
        receiver.Answer = (_, _) => 503;
        await app.WriteEventsAsync(9);
        await MamaApp.EventuallyAsync(() => Task.FromResult(receiver.Received.Any(r => r.AnsweredWith == 503)), "a batch is refused");
        var refused = receiver.Received.First(r => r.AnsweredWith == 503);
        await MamaApp.EventuallyAsync(() => Task.FromResult(app.Lag() >= 9), "the lag counts the refused events");

        await app.RestartAsync();
        var mark = receiver.Received.Count;
        receiver.Answer = (_, _) => 200;
        await app.WriteEventsAsync(3);
        await app.CaughtUpAsync("the restarted host delivers the rest");

        var head = await app.HeadAsync();
        Assert.Equal(acknowledgedThrough + 1, refused.Lines.Seqs()[0]);
        Assert.Equal(AuditStreamReceived.Dense(1, head), receiver.Acknowledged().Seqs().Take((int)head));
        Assert.StartsWith($"audit-{acknowledgedThrough + 1}-", receiver.Received.Skip(mark).First(r => r.AnsweredWith == 200).Id);
    }

    [Fact]
    public async Task TwoHostsOnOneDatabaseNeverDeliverAnEventTwiceOrTwoBatchesAtOnceAndTheSurvivorTakesOver()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, receiver.Url);
        var second = app.StartHost();
        try
        {
            await Task.WhenAll(app.WriteEventsAsync(20), app.WriteEventsAsync(20, second));
            await app.CaughtUpAsync("both hosts' events are delivered");
            await MamaApp.EventuallyAsync(() => Task.FromResult(app.Lag(second) == 0), "the other host's lag gauge reads 0 too");
        }
        finally
        {
            await second.DisposeAsync();
        }
        await app.WriteEventsAsync(7);
        await app.CaughtUpAsync("the remaining host delivers what comes after");

        var head = await app.HeadAsync();
        Assert.Equal(AuditStreamReceived.Dense(1, head), receiver.Acknowledged().Seqs().Take((int)head));
        Assert.Equal(receiver.Acknowledged().Count, receiver.Acknowledged().Seqs().Distinct().Count());
        Assert.Equal(1, receiver.MaxInFlight);
    }

    [Fact]
    public async Task AStreamTurnedOnLaterStartsFromTheBeginningOfTheChain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, url: null);
        await app.WriteEventsAsync(6);
        Assert.Null(app.Lag());
        Assert.Null(await app.Service<AuditStream>().DeliveredThroughAsync(CancellationToken.None));
        Assert.Empty(receiver.Received);

        await app.RestartAsync(AuditStreamApp.Streaming(receiver.Url));
        await app.CaughtUpAsync("the whole history is delivered");

        Assert.Equal(AuditStreamReceived.Dense(1, await app.HeadAsync()), receiver.Acknowledged().Seqs().Take((int)await app.HeadAsync()));
    }

    [Fact]
    public async Task StartAtHeadSkipsTheHistoryOnTheFirstStartOnly()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var app = await AuditStreamApp.StartAsync(provider, url: null);
        await app.WriteEventsAsync(6);
        var history = await app.HeadAsync();
        var atHead = new Dictionary<string, string?>(AuditStreamApp.Streaming(receiver.Url)) { ["Mama:Audit:Stream:StartAt"] = "head" };

        await app.RestartAsync(atHead);
        // The stream takes the head as it starts, in the background: events written before it did would be history too.
        await MamaApp.EventuallyAsync(async () => await app.CursorAsync() >= history, "the stream starts at the head");
        var start = await app.CursorAsync();
        var headAtStart = await app.HeadAsync();
        await app.WriteEventsAsync(4);
        await app.CaughtUpAsync("the new events are delivered");
        receiver.Answer = (_, _) => 503;
        await app.WriteEventsAsync(4);
        await MamaApp.EventuallyAsync(() => Task.FromResult(receiver.Received.Any(r => r.AnsweredWith == 503)), "a batch is refused");
        // The second start must not jump to the head again: the refused events still arrive.
        await app.RestartAsync(atHead);
        receiver.Answer = (_, _) => 200;
        await app.CaughtUpAsync("the refused events are delivered after the restart");

        var head = await app.HeadAsync();
        Assert.True(history >= 6);
        Assert.InRange(start, history, headAtStart);
        Assert.Equal(AuditStreamReceived.Dense(start + 1, head), receiver.Acknowledged().Seqs().Take((int)(head - start)));
    }
}

public sealed class AuditStreamTestsOnSqlite() : AuditStreamTests("sqlite");
public sealed class AuditStreamTestsOnPostgres() : AuditStreamTests("postgres");

/// <summary>
/// Bad stream settings stop the start with a message naming the setting, and never the secret: the registrations
/// mama makes, checked by the start-up validator Program runs before anything starts (StartupTests runs the real process).
/// </summary>
public sealed class AuditStreamSettingsTests
{
    private const string Url = "https://siem.example.com/in";

    public static TheoryData<string, string?, string?, string?> BadSettings => new()
    {
        { "Mama:Audit:Stream:Secret", Url, null, null },
        { "Mama:Audit:Stream:Secret", Url, "whsec_" + Convert.ToBase64String(new byte[16]), null },
        { "Mama:Audit:Stream:Secret", Url, "not base64 at all, but long enough", null },
        { "Mama:Audit:Stream:Url", "ftp://siem.example.com/in", AuditStreamApp.Secret, null },
        { "Mama:Webhooks:AllowPrivateNetworks", "http://10.1.2.3/in", AuditStreamApp.Secret, null },
        { "Mama:Audit:Stream:BatchSize", Url, AuditStreamApp.Secret, "BatchSize=0" },
        { "Mama:Audit:Stream:BatchSize", Url, AuditStreamApp.Secret, "BatchSize=5001" },
        { "Mama:Audit:Stream:StartAt", Url, AuditStreamApp.Secret, "StartAt=middle" },
        { "Mama:Audit:Stream:MaxBackoff", Url, AuditStreamApp.Secret, "MaxBackoff=00:00:00.010" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void ABadStreamSettingRefusesToStartNamingItButNotTheSecret(string setting, string? url, string? secret, string? other)
    {
        var failure = Record.Exception(() => Validate(url, secret, other));

        Assert.NotNull(failure);
        Assert.True(StartupErrors.AreSettings(failure), failure.ToString());
        var message = StartupErrors.Describe(failure);
        Assert.Contains(setting, message);
        if (secret is not null) Assert.DoesNotContain(secret, message);
        Assert.DoesNotContain("siem.example.com", message);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(Url, "whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz")]
    [InlineData(Url, "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz")]
    [InlineData("http://127.0.0.1:9/in", "whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIz", "Mama:Webhooks:AllowPrivateNetworks=true")]
    public void AnUnsetUrlOrAUrlWithA24ByteSecretStarts(string? url, string? secret, string? other = null) => Validate(url, secret, other);

    private static void Validate(string? url, string? secret, string? other)
    {
        var settings = new Dictionary<string, string?> { ["Mama:Audit:Stream:Url"] = url, ["Mama:Audit:Stream:Secret"] = secret };
        if (other is not null)
        {
            var (key, value) = (other.Split('=')[0], other.Split('=')[1]);
            settings[key.Contains(':') ? key : "Mama:Audit:Stream:" + key] = value;
        }
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddMamaAudit();
        services.AddMamaWebhooks();
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
    }
}
