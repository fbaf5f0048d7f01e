using System.Globalization;
using System.Text;
using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>One platform's exact results for an experiment: each seed's locked metrics (metrics.json's text).</summary>
internal sealed record PlatformResults(NumericsPlatformRecord Platform, SortedDictionary<ulong, IReadOnlyDictionary<string, string>> Seeds)
{
    /// <summary>A metric over this platform's seeds.</summary>
    public SeedStatistics Statistics(Metric metric) =>
        SeedStatistics.Of([.. Seeds.Values.Select(m => m.TryGetValue(metric.Key, out var raw) ? double.Parse(raw, CultureInfo.InvariantCulture) : double.NaN).Where(double.IsFinite)]);
}

/// <summary>
/// An experiment's entry in the lock file: the settings that produced it (per-seed stamp fingerprints, data and code),
/// and for each numerics platform that recorded it, every seed's metrics. <see cref="Reference"/> is the platform that
/// wrote the entry; others are added with -p:ReproLockPlatform=add.
/// </summary>
internal sealed record LockEntry(
    string Name,
    string Dataset,
    string Model,
    string Pretrained,
    string Freeze,
    int Epochs,
    string Device,
    string Code,
    string Data,
    SortedDictionary<ulong, IReadOnlyDictionary<string, string>> Seeds,
    string Reference,
    SortedDictionary<string, PlatformResults> Platforms)
{
    /// <summary>The entry a set of runs of one experiment (one per seed, one platform) makes on its own, from <paramref name="code"/>.</summary>
    public static LockEntry FromRuns(IReadOnlyList<RunResult> runs, string code)
    {
        var first = runs[0];
        var seeds = new SortedDictionary<ulong, IReadOnlyDictionary<string, string>>();
        var platforms = new SortedDictionary<string, PlatformResults>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            seeds[run.Seed] = run.StageFingerprints;
            if (!platforms.TryGetValue(run.Platform.Id, out var results))
                platforms[run.Platform.Id] = results = new PlatformResults(run.Platform, []);
            results.Seeds[run.Seed] = run.RawMetrics;
        }
        return new LockEntry(first.Name, first.Dataset, first.Model, first.Pretrained, first.Freeze, first.Metrics.Epochs, first.DeviceSetting,
            code, first.Data, seeds, first.Platform.Id, platforms);
    }

    /// <summary>Same settings, data, code and seeds: results of any platform recorded for one hold for the other.</summary>
    public bool SameSettings(LockEntry other) => Seeds.Count == other.Seeds.Count && Code == other.Code && Covers(other);

    /// <summary>
    /// Whether <paramref name="part"/> (some seeds of a sweep) has this entry's settings and data, and each of its seeds
    /// this entry's stage fingerprints: its results can stand beside this entry's for those seeds. The code may differ,
    /// as VerifyExperiments allows: numbers that moved with the code show there as a failed check, not here.
    /// </summary>
    public bool Covers(LockEntry part) =>
        (Dataset, Model, Pretrained, Freeze, Epochs, Device, Data) == (part.Dataset, part.Model, part.Pretrained, part.Freeze, part.Epochs, part.Device, part.Data)
        && part.Seeds.All(s => Seeds.TryGetValue(s.Key, out var o) && StampNames.All(n => s.Value.GetValueOrDefault(n) == o.GetValueOrDefault(n)));

    /// <summary>The per-seed stamp fingerprints' keys, in the lock's order.</summary>
    public static IReadOnlyList<string> StampNames { get; } = [.. RunResult.StampedStages.Select(RunResult.StageName)];

    /// <summary>
    /// The platforms whose bytes for <paramref name="seed"/> equal <paramref name="metrics"/> in every locked metric:
    /// where a re-run on an unrecorded platform computes exactly what a recorded one did.
    /// </summary>
    public IEnumerable<PlatformResults> IdenticalOn(ulong seed, IReadOnlyDictionary<string, string> metrics) =>
        Platforms.Values.Where(p => p.Seeds.TryGetValue(seed, out var locked)
            && locked.Count > 0 && locked.All(m => metrics.GetValueOrDefault(m.Key) == m.Value));

    /// <summary>The platform whose seeds form the distribution another platform is checked against: the most seeds, then the reference.</summary>
    public PlatformResults? Distribution() =>
        Platforms.Values.OrderByDescending(p => p.Seeds.Count).ThenBy(p => p.Platform.Id == Reference ? 0 : 1).FirstOrDefault();
}

/// <summary>
/// results/experiments.lock.json: read, merged with new runs, written with sorted keys, fixed precision and '\n'
/// line ends, so a commit shows exactly which results moved and on which platform.
/// </summary>
internal static class ResultsLock
{
    public const int Version = 2;

    /// <summary>How <see cref="Merge"/> treated the current runs.</summary>
    public enum MergeOutcome { New, Replaced, Updated, Added, NotRecorded, PartNotCovered }

    /// <summary>
    /// The entry after recording <paramref name="current"/> (one platform's runs): a new experiment or changed settings,
    /// data, code or seeds replace the entry (older platforms' numbers no longer apply); the same settings update
    /// this platform's results if the entry has them or <paramref name="addPlatform"/> asks for it, and otherwise
    /// leave the entry as it is (a foreign machine does not rewrite the author's lock by running the experiments).
    /// A <paramref name="part"/> of a sweep (-p:ReproLockSeeds) never replaces an entry: its seeds' results join this
    /// platform's others, and only where the entry <see cref="LockEntry.Covers"/> them (else the outcome is
    /// <see cref="MergeOutcome.PartNotCovered"/> and the entry stays as it was).
    /// </summary>
    public static (LockEntry? Entry, MergeOutcome Outcome) Merge(LockEntry? old, LockEntry current, bool addPlatform, bool part = false)
    {
        if (part && (old is null || !old.Covers(current)))
            return (old, MergeOutcome.PartNotCovered);
        if (old is null)
            return (current, MergeOutcome.New);
        if (!part && !old.SameSettings(current))
            return (current, MergeOutcome.Replaced);
        var platforms = new SortedDictionary<string, PlatformResults>(old.Platforms, StringComparer.Ordinal);
        bool known = platforms.ContainsKey(current.Reference);
        if (!known && !addPlatform)
            return (old, MergeOutcome.NotRecorded);
        foreach (var (id, results) in current.Platforms)
        {
            if (part && platforms.TryGetValue(id, out var had))
            {
                var seeds = new SortedDictionary<ulong, IReadOnlyDictionary<string, string>>(had.Seeds);
                foreach (var (seed, metrics) in results.Seeds)
                    seeds[seed] = metrics;
                platforms[id] = results with { Seeds = seeds };
            }
            else
                platforms[id] = results;
        }
        return (old with { Platforms = platforms, Seeds = part ? old.Seeds : current.Seeds }, known ? MergeOutcome.Updated : MergeOutcome.Added);
    }

    /// <summary>What <see cref="Record"/> did: the lock after it, each experiment's entry before it and as these runs make it,
    /// the experiments whose snapshot (results/&lt;name&gt;.md) shows the new results, lines for the log, and errors (the
    /// lock must then not be written).</summary>
    public sealed record Recording(
        SortedDictionary<string, LockEntry> Locked,
        IReadOnlyDictionary<string, LockEntry?> Before,
        IReadOnlyDictionary<string, LockEntry> Current,
        IReadOnlySet<string> Snapshots,
        IReadOnlyList<string> Messages,
        IReadOnlyList<string> Errors);

    /// <summary>
    /// Merges each experiment's runs (<see cref="Merge"/>) into <paramref name="locked"/>. <paramref name="sweepSizes"/>
    /// names the experiments of which only some seeds ran (-p:ReproLockSeeds), with the number of seeds of their sweep.
    /// </summary>
    public static Recording Record(SortedDictionary<string, LockEntry> locked, IReadOnlyList<LockEntry> currents, bool addPlatform, string lockName,
        IReadOnlyDictionary<string, int>? sweepSizes = null)
    {
        var before = new Dictionary<string, LockEntry?>(StringComparer.Ordinal);
        var snapshots = new HashSet<string>(StringComparer.Ordinal);
        var messages = new List<string>();
        var errors = new List<string>();
        foreach (var current in currents)
        {
            before[current.Name] = locked.GetValueOrDefault(current.Name);
            int sweep = sweepSizes?.GetValueOrDefault(current.Name) ?? 0;
            var (entry, outcome) = Merge(locked.GetValueOrDefault(current.Name), current, addPlatform, part: sweep > 0);
            if (outcome == MergeOutcome.PartNotCovered)
            {
                errors.Add($"{current.Name}: only {current.Seeds.Count} of its {sweep} seeds ran (-p:ReproLockSeeds), and {lockName} " +
                    (entry is null ? "has no entry for it" : "holds it with other settings, data or seed fingerprints") +
                    ": part of a sweep is recorded only beside a locked entry whose settings it shares. Run every seed (without -p:ReproLockSeeds) to lock it");
                continue;
            }
            locked[current.Name] = entry!;
            if (sweep > 0 && entry!.Code != current.Code && outcome is MergeOutcome.Added or MergeOutcome.Updated)
                messages.Add($"{current.Name}: locked with code {entry.Code}, these runs with code {current.Code}: recorded beside it, as VerifyExperiments " +
                    "compares them; running the whole sweep again makes the lock's code fingerprint current");
            // The snapshot shows the lock's own results: a foreign platform's runs that the lock did not take must not
            // replace them. An added platform, or part of a sweep, keeps the reference platform's whole snapshot too.
            if (outcome is not (MergeOutcome.NotRecorded or MergeOutcome.Added) && sweep == 0)
                snapshots.Add(current.Name);
            if (outcome == MergeOutcome.NotRecorded)
                messages.Add($"{current.Name}: this machine's numerics platform {current.Reference} is not in {lockName} " +
                    $"(locked on {string.Join(", ", entry!.Platforms.Keys)}); its results were not recorded. -p:ReproLockPlatform=add records them " +
                    "beside the others, so that VerifyExperiments checks this platform bit for bit");
            else if (outcome == MergeOutcome.Added)
                messages.Add($"{current.Name}: recorded platform {current.Reference} beside {string.Join(", ", entry!.Platforms.Keys.Where(k => k != current.Reference))}" +
                    (sweep > 0 ? $" (seeds {string.Join(", ", current.Seeds.Keys)} of {sweep})" : ""));
        }
        return new Recording(locked, before, currents.ToDictionary(c => c.Name, StringComparer.Ordinal), snapshots, messages, errors);
    }

    /// <summary>Reads a lock file's text (empty or missing: no entries). Version 1 files (one result, no platform) read as platform "unrecorded", seed 1.</summary>
    public static SortedDictionary<string, LockEntry> Read(string? text)
    {
        var entries = new SortedDictionary<string, LockEntry>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
            return entries;
        using var doc = JsonDocument.Parse(text);
        int version = doc.RootElement.TryGetProperty("version", out var v) ? v.GetInt32() : 1;
        foreach (var e in doc.RootElement.GetProperty("experiments").EnumerateObject())
            entries[e.Name] = version >= 2 ? ReadEntry(e.Name, e.Value) : ReadVersion1(e.Name, e.Value);
        return entries;
    }

    private static LockEntry ReadEntry(string name, JsonElement v)
    {
        var fingerprints = v.GetProperty("fingerprints");
        var seeds = new SortedDictionary<ulong, IReadOnlyDictionary<string, string>>();
        foreach (var s in v.GetProperty("seeds").EnumerateObject())
            seeds[ulong.Parse(s.Name, CultureInfo.InvariantCulture)] = Strings(s.Value);
        var platforms = new SortedDictionary<string, PlatformResults>(StringComparer.Ordinal);
        foreach (var p in v.GetProperty("platforms").EnumerateObject())
        {
            var results = new SortedDictionary<ulong, IReadOnlyDictionary<string, string>>();
            foreach (var s in p.Value.GetProperty("seeds").EnumerateObject())
                results[ulong.Parse(s.Name, CultureInfo.InvariantCulture)] = s.Value.EnumerateObject().ToDictionary(m => m.Name, m => m.Value.GetRawText(), StringComparer.Ordinal);
            platforms[p.Name] = new PlatformResults(NumericsPlatformRecord.FromJson(p.Value.GetProperty("platform")) with { Id = p.Name }, results);
        }
        return new LockEntry(name, Text(v, "dataset"), Text(v, "model"), Text(v, "pretrained"), Text(v, "freeze"), v.GetProperty("epochs").GetInt32(),
            Text(v, "device"), Text(fingerprints, "code"), Text(fingerprints, "data"), seeds, Text(v, "reference"), platforms);
    }

    private static LockEntry ReadVersion1(string name, JsonElement v)
    {
        var fingerprints = Strings(v.GetProperty("fingerprints"));
        var metrics = v.GetProperty("test").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetRawText(), StringComparer.Ordinal);
        var platform = NumericsPlatformRecord.Unrecorded;
        return new LockEntry(name, Text(v, "dataset"), Text(v, "model"), Text(v, "pretrained"), Text(v, "freeze"), v.GetProperty("epochs").GetInt32(),
            Text(v, "device"), fingerprints.GetValueOrDefault("code", ""), fingerprints.GetValueOrDefault("data", ""),
            new() { [1] = LockEntry.StampNames.ToDictionary(n => n, n => fingerprints.GetValueOrDefault(n, ""), StringComparer.Ordinal) },
            platform.Id, new(StringComparer.Ordinal) { [platform.Id] = new PlatformResults(platform, new() { [1] = metrics }) });
    }

    /// <summary>The lock file's text.</summary>
    public static string Write(IEnumerable<LockEntry> entries)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteStartObject("experiments");
            foreach (var e in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
                WriteEntry(json, e);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    private static void WriteEntry(Utf8JsonWriter json, LockEntry e)
    {
        json.WriteStartObject(e.Name);
        json.WriteString("dataset", e.Dataset);
        json.WriteString("model", e.Model);
        json.WriteString("pretrained", e.Pretrained);
        json.WriteString("freeze", e.Freeze);
        json.WriteNumber("epochs", e.Epochs);
        json.WriteString("device", e.Device);
        json.WriteStartObject("fingerprints");
        json.WriteString("code", e.Code);
        json.WriteString("data", e.Data);
        json.WriteEndObject();
        json.WriteStartObject("seeds");
        foreach (var (seed, stamps) in e.Seeds)
        {
            json.WriteStartObject(seed.ToString(CultureInfo.InvariantCulture));
            foreach (var name in LockEntry.StampNames)
                json.WriteString(name, stamps.GetValueOrDefault(name, ""));
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteString("reference", e.Reference);
        json.WriteStartObject("platforms");
        foreach (var (id, results) in e.Platforms)
            WritePlatform(json, id, results);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>One platform's record, the summary of its seeds' spread metrics, and each seed's metrics as metrics.json wrote them.</summary>
    private static void WritePlatform(Utf8JsonWriter json, string id, PlatformResults results)
    {
        json.WriteStartObject(id);
        json.WritePropertyName("platform");
        results.Platform.Write(json);
        json.WriteStartObject("summary");
        json.WriteNumber("n", results.Seeds.Count);
        foreach (var metric in Metric.Spread)
        {
            var stats = results.Statistics(metric);
            if (stats.N == 0)
                continue;
            json.WriteStartObject(metric.Key);
            Number(json, "mean", stats.Mean);
            if (stats.N >= 2)
            {
                Number(json, "std", stats.Std);
                Number(json, "ci95_low", stats.Mean - stats.Ci95HalfWidth);
                Number(json, "ci95_high", stats.Mean + stats.Ci95HalfWidth);
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteStartObject("seeds");
        foreach (var (seed, metrics) in results.Seeds)
        {
            json.WriteStartObject(seed.ToString(CultureInfo.InvariantCulture));
            foreach (var metric in Metric.All.Where(m => metrics.ContainsKey(m.Key)))
            {
                json.WritePropertyName(metric.Key);
                json.WriteRawValue(metrics[metric.Key], skipInputValidation: true);
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        json.WritePropertyName(name);
        json.WriteRawValue(value.ToString("F6", CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    private static Dictionary<string, string> Strings(JsonElement element) =>
        element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
}
