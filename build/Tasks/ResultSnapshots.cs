using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Makes the committed snapshot results/&lt;experiment&gt;.md (<see cref="ResultsSnapshot"/>) from runs read back:
/// metrics.json (numbers in its fixed-decimal text) and the train stage's canonical settings. Nothing that varies
/// between equal runs (timings, paths, dates) goes in.
/// </summary>
internal static class ResultSnapshots
{
    /// <summary>The snapshot file of an experiment: results/&lt;experiment&gt;.md beside the lock file.</summary>
    public static string PathFor(string lockFile, string experiment) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(lockFile))!, experiment + ".md");

    /// <summary>The snapshot of one experiment's runs (one per seed); the per-class table and matrix are the first seed's.</summary>
    public static ResultsSnapshot From(IReadOnlyList<RunResult> runs)
    {
        var ordered = runs.OrderBy(r => r.Seed).ToList();
        var first = ordered[0].Metrics;
        var snapshotRuns = ordered.Select(r => new SnapshotRun(r.Seed, r.RawMetrics,
            [.. r.Metrics.History.Select(h => (IReadOnlyDictionary<string, string>)h.Numbers())])).ToList();
        IReadOnlyList<SnapshotClass> classes = [.. first.Test.PerClass.Select(c => new SnapshotClass(c.Class, c.Numbers()))];
        var confusion = new long[classes.Count, classes.Count];
        for (int r = 0; r < Math.Min(classes.Count, first.Test.Confusion.Count); r++)
            for (int c = 0; c < Math.Min(classes.Count, first.Test.Confusion[r].Count); c++)
                confusion[r, c] = first.Test.Confusion[r][c];
        var settings = Settings(ordered[0].Run.Canonical(Stage.Train), ordered.Count > 1 ? string.Join(", ", ordered.Select(r => r.Seed)) : null);
        return new ResultsSnapshot(ordered[0].Name, first.Platform?.Id ?? "", settings, snapshotRuns, classes, confusion);
    }

    /// <summary>The train stage's settings (what training and testing depend on), with a sweep's seeds in place of one seed.</summary>
    private static List<KeyValuePair<string, string>> Settings(string trainCanonical, string? seeds)
    {
        var settings = new List<KeyValuePair<string, string>>();
        using var doc = JsonDocument.Parse(trainCanonical);
        foreach (var property in doc.RootElement.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (property.Name == "stage")
                continue;
            string value = property.Name == "seed" && seeds is not null ? seeds : Text(property.Value);
            settings.Add(new(property.Name, value));
        }
        return settings;
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Null => "",
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Text)),
        _ => value.GetRawText(),
    };
}
