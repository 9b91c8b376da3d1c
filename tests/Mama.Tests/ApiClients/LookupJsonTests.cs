using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Mama.ApiClients;
using Mama.Http;

namespace Mama.Tests.ApiClients;

/// <summary>
/// The lookups' hand-written JSON must be, byte for byte, what the API's JSON options write for the same records, so
/// that clients see no difference and a field added to the records cannot be left out of the answer unnoticed.
/// </summary>
public sealed class LookupJsonTests
{
    private static readonly DateTimeOffset Ends = new(2026, 12, 1, 9, 30, 15, 123, TimeSpan.FromHours(9));

    private static readonly LookedUpUser[] Samples =
    [
        new("u-1", "acme", "sk-abc", ["gpt-4o", "gpt-4o-mini"], ["billing"], "", "synced", Usable: true),
        new("김철수", "한국 \"조직\" <&> '인용'", "sk-\u0001\\/", [], [], "줄\n바꿈\t탭 😀 \u2028 é", "pending", Usable: false, Expired: true),
        new("u-2", "acme", "sk-new", ["claude-sonnet-4"], ["search", "billing"], new string('가', 4000), "conflict", Usable: false, PreviousKey: "sk-old", PreviousKeyExpiresAt: Ends),
        new("u-3", "acme", "sk-new", ["m"], ["s"], "x", "synced", Usable: true, PreviousKeyExpiresAt: Ends.ToUniversalTime()),
    ];

    public static TheoryData<int> Users() => [.. Enumerable.Range(0, Samples.Length)];

    [Theory]
    [MemberData(nameof(Users))]
    public void AUserIsWrittenAsTheApisJsonOptionsWriteIt(int sample)
    {
        var user = Samples[sample];
        Assert.Equal(JsonSerializer.Serialize(user, MamaJson.Options), Encoding.UTF8.GetString(LookupJson.Serialize(user)));
    }

    [Fact]
    public async Task AWholeAnswerLargerThanAFlushIsWrittenAsTheApisJsonOptionsWriteItWithOrWithoutKeptUserJson()
    {
        var users = Enumerable.Range(0, 60).Select(i => Samples[i % Samples.Length] with { UserId = $"u-{i}" }).ToList();
        var response = new LookupResponse(users, ["ghost", "유령"], ["other"], [new LookupFailure("broken", "key_unreadable")]);
        var expected = JsonSerializer.Serialize(response, MamaJson.Options);

        Assert.Equal(expected, await WriteAsync(response));
        foreach (var user in users) user.Json = LookupJson.Serialize(user);
        Assert.Equal(expected, await WriteAsync(response));
        Assert.Equal(JsonSerializer.Serialize(new LookupResponse([], [], [], []), MamaJson.Options), await WriteAsync(new LookupResponse([], [], [], [])));
    }

    [Theory]
    [InlineData('a', 4000)]
    [InlineData('a', 100)]
    [InlineData('가', 4000)]
    public async Task ALargeAnswerIsHandedToTheConnectionEvery16KbNotHeldWhole(char letter, int length)
    {
        var users = Enumerable.Range(0, 1000).Select(i => Samples[0] with { UserId = $"u-{i}", ExtraInfo = new string(letter, length) }).ToList();
        var oneUser = LookupJson.Serialize(users[0]).Length;
        var body = new CountingWriter(new Pipe(new PipeOptions(pauseWriterThreshold: 0)).Writer);

        await using (var writer = new Utf8JsonWriter(body)) await LookupJson.WriteAsync(writer, body, new LookupResponse(users, [], [], []), CancellationToken.None);

        Assert.True(body.Flushes >= body.Written / (16 * 1024 + oneUser), $"{body.Flushes} flushes for {body.Written} bytes");
        Assert.InRange(body.MostUnflushed, 0, 16 * 1024 + oneUser);
    }

    [Fact]
    public void AnAnswerPrintsWithoutItsKeys()
    {
        var user = Samples[2] with { };
        user.Json = LookupJson.Serialize(user);

        var printed = user.ToString();

        Assert.Contains(user.UserId, printed);
        Assert.DoesNotContain(user.Key, printed);
        Assert.DoesNotContain(user.PreviousKey!, printed);
    }

    /// <summary>Counts the bytes a writer hands to the pipe and the most that were ever waiting for a flush.</summary>
    private sealed class CountingWriter(PipeWriter inner) : PipeWriter
    {
        private long _unflushed;
        public long Written { get; private set; }
        public long MostUnflushed { get; private set; }
        public int Flushes { get; private set; }

        public override void Advance(int bytes)
        {
            inner.Advance(bytes);
            Written += bytes;
            MostUnflushed = Math.Max(MostUnflushed, _unflushed += bytes);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Flushes++;
            _unflushed = 0;
            return inner.FlushAsync(cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }

    private static async Task<string> WriteAsync(LookupResponse response)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await using (var writer = new Utf8JsonWriter(pipe.Writer)) await LookupJson.WriteAsync(writer, pipe.Writer, response, CancellationToken.None);
        await pipe.Writer.CompleteAsync();
        using var text = new MemoryStream();
        await pipe.Reader.CopyToAsync(text);
        return Encoding.UTF8.GetString(text.ToArray());
    }
}
