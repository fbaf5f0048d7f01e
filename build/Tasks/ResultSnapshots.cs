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
            var metrics = MetricsFile.Read(ExperimentLayout.ForRun(dir).Metrics);
            var numbers = metrics.Test.Numbers();
            var summary = ResultsSnapshot.MetricColumns.Where(numbers.ContainsKey).ToDictionary(c => c, c => numbers[c], StringComparer.Ordinal);
            var history = metrics.History.Select(h => (IReadOnlyDictionary<string, string>)h.Numbers()).ToList();
            snapshotRuns.Add(new SnapshotRun(seed, summary, history));
            if (snapshotRuns.Count > 1)
                continue;
            platform = metrics.Platform?.Id ?? "";
            classes = [.. metrics.Test.PerClass.Select(c => new SnapshotClass(c.Class, c.Numbers()))];
            confusion = new long[classes.Count, classes.Count];
            for (int r = 0; r < Math.Min(classes.Count, metrics.Test.Confusion.Count); r++)
                for (int c = 0; c < Math.Min(classes.Count, metrics.Test.Confusion[r].Count); c++)
                    confusion[r, c] = metrics.Test.Confusion[r][c];
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
