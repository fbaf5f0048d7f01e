using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Makes the committed snapshot results/&lt;experiment&gt;.md (<see cref="ResultsSnapshot"/>) from runs' outputs:
/// metrics.json (numbers in its fixed-decimal text) and the train stamp (the settings). Nothing that varies between
/// equal runs (timings, paths, dates) goes in.
/// </summary>
internal static class ResultSnapshots
{
    /// <summary>The snapshot file of an experiment: results/&lt;experiment&gt;.md beside the lock file.</summary>
    public static string PathFor(string lockFile, string experiment) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(lockFile))!, experiment + ".md");

    /// <summary>The snapshot of one experiment's runs (one per seed, in seed order); null when a run has no metrics.json.</summary>
    public static ResultsSnapshot? FromOutputs(string experiment, IReadOnlyList<(ulong Seed, string Directory)> runs)
    {
        if (runs.Count == 0 || runs.Any(r => !File.Exists(ExperimentLayout.ForRun(r.Directory).Metrics)))
            return null;
        var snapshotRuns = new List<SnapshotRun>();
        IReadOnlyList<SnapshotClass> classes = [];
        long[,] confusion = new long[0, 0];
        string platform = "";
        foreach (var (seed, dir) in runs.OrderBy(r => r.Seed))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(ExperimentLayout.ForRun(dir).Metrics));
            var root = doc.RootElement;
            var test = root.GetProperty("test");
            var metrics = ResultsSnapshot.MetricColumns.Where(c => test.TryGetProperty(c, out var v) && v.ValueKind == JsonValueKind.Number)
                .ToDictionary(c => c, c => test.GetProperty(c).GetRawText(), StringComparer.Ordinal);
            var history = new List<IReadOnlyDictionary<string, string>>();
            if (root.TryGetProperty("history", out var h) && h.ValueKind == JsonValueKind.Array)
                foreach (var epoch in h.EnumerateArray())
                    history.Add(ResultsSnapshot.HistoryColumns.Where(c => epoch.TryGetProperty(c, out _)).ToDictionary(c => c, c => epoch.GetProperty(c).GetRawText(), StringComparer.Ordinal));
            snapshotRuns.Add(new SnapshotRun(seed, metrics, history));
            if (snapshotRuns.Count > 1)
                continue;
            platform = root.TryGetProperty("platform", out var p) && p.TryGetProperty("id", out var id) ? id.GetString() ?? "" : "";
            if (test.TryGetProperty("per_class", out var perClass) && perClass.ValueKind == JsonValueKind.Array)
                classes = [.. perClass.EnumerateArray().Select(c => new SnapshotClass(c.GetProperty("class").GetString() ?? "",
                    ResultsSnapshot.ClassColumns.Where(k => c.TryGetProperty(k, out _)).ToDictionary(k => k, k => c.GetProperty(k).GetRawText(), StringComparer.Ordinal)))];
            confusion = new long[classes.Count, classes.Count];
            if (test.TryGetProperty("confusion", out var matrix) && matrix.ValueKind == JsonValueKind.Array)
            {
                int r = 0;
                foreach (var row in matrix.EnumerateArray().Take(classes.Count))
                {
                    int c = 0;
                    foreach (var cell in row.EnumerateArray().Take(classes.Count))
                        confusion[r, c++] = cell.GetInt64();
                    r++;
                }
            }
        }
        var settings = Settings(ExperimentLayout.ForRun(runs[0].Directory).TrainStamp, runs.Count > 1 ? string.Join(", ", runs.Select(r => r.Seed).Order()) : null);
        return new ResultsSnapshot(experiment, platform, settings, snapshotRuns, classes, confusion);
    }

    /// <summary>The train stamp's settings (what training and testing depend on), with a sweep's seeds in place of one seed.</summary>
    private static List<KeyValuePair<string, string>> Settings(string trainStamp, string? seeds)
    {
        var settings = new List<KeyValuePair<string, string>>();
        if (!File.Exists(trainStamp))
            return settings;
        using var doc = JsonDocument.Parse(File.ReadAllText(trainStamp));
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
