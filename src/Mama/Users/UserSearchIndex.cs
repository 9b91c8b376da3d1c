using Mama.Data;
using Microsoft.EntityFrameworkCore;

namespace Mama.Users;

/// <summary>
/// How the list runs a search on SQLite: through the trigram index (<c>users_search</c>, FTS5, kept by triggers) when
/// the text finds few users, or by scanning every user's ID and organisation with LIKE when it finds many. The LIKE
/// decides what matches either way; the index only chooses which rows it reads (it folds non-ASCII case too, so it
/// finds a superset). Reading a match through the index costs about four scanned rows, and a sorted page of a common
/// text stops early on the scan, so the choice weighs the number of matches against the table's size.
/// </summary>
public sealed class UserSearchIndex(UserTableChanges changes)
{
    /// <summary>Matches per text, valid until the next write to users (as the list's totals): a page asked again decides at once.</summary>
    private readonly UserRowCache<Probe> _probes = new(changes, 256);

    internal sealed record Probe(long Found, long Rows)
    {
        /// <summary>Counted through the index up to a sixteenth of the rows: more than that scans (measured: a tenth scanned faster).</summary>
        public static long Cap(long rows) => rows / 16 + 1;

        public bool Few => Found < Cap(Rows);

        /// <summary>A sorted scan reads about pageEnd × rows ÷ found rows before its page is full; the index reads every match.</summary>
        public bool PageReadsIndex(int pageEnd) => Few && Found * Found < pageEnd * Rows;
    }

    /// <summary>The rows a search reads: these IDs (one JSON parameter), or those this query finds; neither where it scans.</summary>
    public sealed record Rows(List<long>? Ids, IQueryable<long>? Query);

    public const int MaxIndexedLength = 64;

    /// <param name="search">The search as the list's LIKE matches it (trimmed, NFC); null for none.</param>
    /// <param name="pageEnd">Offset plus page size: how far a sorted scan reads at most.</param>
    public async Task<Plan> PlanAsync(MamaDbContext db, string? search, int pageEnd, CancellationToken ct)
    {
        // The trigram tokenizer matches nothing shorter than three characters; such a search scans. So does a long one:
        // the index's cost grows with the text (4,000 of one repeated character took 0.5 s; LIKE fails it at once).
        if (string.IsNullOrEmpty(search) || search.Length > MaxIndexedLength || search.EnumerateRunes().Take(3).Count() < 3) return Plan.Scan;
        var phrase = MatchExpression(search);
        var version = _probes.Version;
        if (_probes.TryGet(phrase, out var probe)) return probe.Few ? new Plan(db, phrase, probe, pageEnd, null) : Plan.Scan;

        // Rows ever written (deleted ones are scanned too). Up to a thousand matches are read at once, so a search
        // finding a few users runs the index once; more are only counted, up to the cap.
        var rows = await db.Database.SqlQuery<long>($"""SELECT coalesce(max("Id"), 0) AS "Value" FROM "users" """).SingleAsync(ct);
        const int ReadAtOnce = 1000;
        List<long>? ids = await Matching(db, phrase, ReadAtOnce + 1).ToListAsync(ct);
        if (ids.Count > ReadAtOnce) ids = null;
        var found = ids?.Count ?? await db.Database.SqlQuery<long>(
            $"""SELECT count(*) AS "Value" FROM (SELECT 1 FROM "users_search" WHERE "users_search" MATCH {phrase} LIMIT {Probe.Cap(rows)})""").SingleAsync(ct);
        probe = new Probe(found, rows);
        _probes.Add(phrase, probe, version);
        return probe.Few ? new Plan(db, phrase, probe, pageEnd, ids) : Plan.Scan;
    }

    /// <summary>
    /// The search as one FTS5 phrase; or, when a trigram repeats in it ("aaaa", any case), each distinct trigram once,
    /// all required. A phrase checks every repeat at every position of each row holding it: "b", 62 'a's, "b" over
    /// 20,000 organisations of 200 'a's and one 'b' took 0.5 s a search (scanning it: 10–20 ms), its three trigrams 10 ms.
    /// Either finds a superset of what LIKE matches (dropping a required term only widens it).
    /// </summary>
    internal static string MatchExpression(string search)
    {
        static string Quoted(string text) => "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var runes = search.EnumerateRunes().Select(r => r.ToString()).ToArray();
        var trigrams = Enumerable.Range(0, runes.Length - 2).Select(i => runes[i] + runes[i + 1] + runes[i + 2]).ToList();
        var distinct = trigrams.DistinctBy(t => t.ToLowerInvariant()).ToList();
        return distinct.Count == trigrams.Count ? Quoted(search) : string.Join(" AND ", distinct.Select(Quoted));
    }

    private static IQueryable<long> Matching(MamaDbContext db, string phrase, long limit) =>
        db.Database.SqlQuery<long>($"""SELECT rowid AS "Value" FROM "users_search" WHERE "users_search" MATCH {phrase} LIMIT {limit}""");

    /// <summary>Every match, with no limit: a write the cache did not see (the CLI's) may have added some since the probe.</summary>
    private static IQueryable<long> Matching(MamaDbContext db, string phrase) =>
        db.Database.SqlQuery<long>($"""SELECT rowid AS "Value" FROM "users_search" WHERE "users_search" MATCH {phrase}""");

    /// <summary>Which rows a search's page and its count read.</summary>
    public sealed class Plan
    {
        public static readonly Plan Scan = new(null, "", new Probe(0, 0), 0, null);

        private readonly MamaDbContext? _db;
        private readonly string _phrase;
        private readonly bool _pageReadsIndex;
        private List<long>? _ids;

        internal Plan(MamaDbContext? db, string phrase, Probe probe, int pageEnd, List<long>? ids)
        {
            (_db, _phrase, _ids) = (db, phrase, ids);
            _pageReadsIndex = db is not null && probe.PageReadsIndex(pageEnd);
        }

        /// <summary>For the page: the IDs, read once (a page through the index reads only a few).</summary>
        public async Task<Rows?> ForPageAsync(CancellationToken ct) =>
            _pageReadsIndex ? new Rows(_ids ??= await Matching(_db!, _phrase).ToListAsync(ct), null) : null;

        /// <summary>For the count: the IDs when already read, else the index queried within the count.</summary>
        public Rows? ForCount => _db is null ? null : new Rows(_ids, _ids is null ? Matching(_db, _phrase) : null);
    }
}
