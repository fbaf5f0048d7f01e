using System.Globalization;
using System.Text;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// The markdown a build writes about its results, from the runs read back (<see cref="RunResult"/>): artifacts/results.md
/// (the selection beside the tutorial's figures), each sweep's report.md, and the closing table of the build log.
/// </summary>
internal static class ResultsReport
{
    /// <summary>A metric over runs' seeds.</summary>
    public static SeedStatistics Stats(IEnumerable<RunResult> runs, Metric metric) =>
        SeedStatistics.Of([.. runs.Select(r => r.Value(metric)).OfType<double>()]);

    /// <summary>Mean ± std of a metric (accuracies in percentage points); one seed: its value alone.</summary>
    public static string Spread(Metric metric, SeedStatistics stats) => metric.FormatSpread(stats.Mean, stats.Std, stats.N);

    /// <summary>The 95 % interval of the mean as "low – high"; empty for one seed.</summary>
    public static string Interval(Metric metric, SeedStatistics stats) =>
        stats.N < 2 ? "" : $"{metric.Format(stats.Mean - stats.Ci95HalfWidth)} – {metric.Format(stats.Mean + stats.Ci95HalfWidth)}";

    /// <summary>results.md: one row per experiment (mean ± std over a sweep's seeds), skipped images, then every seed's values.</summary>
    public static string Table(IReadOnlyList<IReadOnlyList<RunResult>> experiments)
    {
        var md = new StringBuilder();
        md.Append("# Results\n\n");
        foreach (var p in experiments.SelectMany(g => g).Select(r => r.Platform).DistinctBy(p => p.Id))
            md.Append(CultureInfo.InvariantCulture, $"Numerics platform: {p.Describe()}\n\n");
        md.Append("Sweeps show mean ± sample standard deviation over their seeds, and the 95 % interval of the mean.\n\n");
        md.Append("| experiment | dataset | model | pretrained | frozen | seeds | test accuracy | 95 % interval | loss | macro F1 | tutorial | epochs | train time |\n");
        md.Append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var runs in experiments)
            md.Append(Row(runs));
        // Only when a run skipped something, so that results.md of clean data keeps its exact table.
        var skipped = experiments
            .Select(g => (g[0].Name, Files: g.Select(r => r.Metrics.Skipped).FirstOrDefault(f => f.Count > 0)))
            .Where(s => s.Files is not null)
            .ToList();
        if (skipped.Count > 0)
        {
            md.Append("\n## Skipped images\n\nImages that did not decode, left out by `skip_corrupt: true` (all of them are in each run's metrics.json):\n\n");
            foreach (var (name, files) in skipped)
                md.Append(CultureInfo.InvariantCulture, $"- {name}: {SkippedImages.Describe(files!)}\n");
        }
        var sweeps = experiments.Where(g => g.Count > 1).ToList();
        if (sweeps.Count > 0)
        {
            md.Append("\n## Seeds\n\n| experiment | seed | test accuracy | loss | macro F1 |\n|---|---|---|---|---|\n");
            foreach (var run in sweeps.SelectMany(g => g))
                md.Append(CultureInfo.InvariantCulture, $"| {run.Name} | {run.Seed} | {SpreadCells(run)} |\n");
        }
        return md.ToString();
    }

    private static string Row(IReadOnlyList<RunResult> runs)
    {
        var r = runs[0];
        var tutorial = TutorialFigure.Find(r.Spec.Tutorial);
        var seconds = runs.Select(run => run.TrainSeconds).ToList();
        string time = seconds.All(s => s is not null) ? TimeSpan.FromSeconds(Math.Round(seconds.Sum(s => s!.Value))).ToString("c", CultureInfo.InvariantCulture) : "";
        var accuracy = Stats(runs, Metric.Accuracy);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {r.Name} | {r.Dataset} | {r.Model} | {(r.Pretrained.Length == 0 ? "no" : r.Pretrained)} | {(r.Spec.Model.Freeze == FreezeMode.Backbone ? "backbone" : "no")} " +
            $"| {runs.Count} | {Spread(Metric.Accuracy, accuracy)} | {Interval(Metric.Accuracy, accuracy)} | {Spread(Metric.Loss, Stats(runs, Metric.Loss))} " +
            $"| {Spread(Metric.MacroF1, Stats(runs, Metric.MacroF1))} | {(tutorial is null ? "" : Metric.Accuracy.Format(tutorial.TestAccuracy))} | {r.Metrics.Epochs} | {time} |\n");
    }

    /// <summary>A run's spread metrics as table cells: "accuracy | loss | macro F1".</summary>
    private static string SpreadCells(RunResult run) => string.Join(" | ", Metric.Spread.Select(m => m.Format(run.Value(m))));

    /// <summary>A sweep's report.md: the spread of its test metrics over the seeds, and each seed's values and report.</summary>
    public static string SweepReport(LockEntry entry, IReadOnlyList<RunResult> runs)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {entry.Name}: {runs.Count} seeds\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{entry.Dataset}, {entry.Model}, {entry.Epochs} epochs, seeds {string.Join(", ", runs.Select(r => r.Seed))}. ");
        md.Append("Each seed is a separate run (its own initial weights, shuffling and augmentation, and its own split when the split is a seeded fraction); its full report is linked below.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Numerics platform: {runs[0].Platform.Describe()}\n\n");
        md.Append("| test metric | mean ± std | 95 % interval of the mean | min | max |\n|---|---|---|---|---|\n");
        foreach (var metric in Metric.Spread)
        {
            var stats = Stats(runs, metric);
            var values = runs.Select(r => r.Value(metric)).OfType<double>().DefaultIfEmpty(double.NaN).ToList();
            md.Append(CultureInfo.InvariantCulture, $"| {metric.Label} | {Spread(metric, stats)} | {Interval(metric, stats)} | {metric.Format(values.Min())} | {metric.Format(values.Max())} |\n");
        }
        md.Append("\n| seed | test accuracy | loss | macro F1 | report |\n|---|---|---|---|---|\n");
        foreach (var run in runs)
        {
            string folder = ExperimentLayout.RunFolder(run.Seed);
            md.Append(CultureInfo.InvariantCulture, $"| {run.Seed} | {SpreadCells(run)} | [{folder}/report.md]({folder}/report.md) |\n");
        }
        md.Append(CultureInfo.InvariantCulture, $"\nThe interval is the mean ± t(0.975, n - 1) · std / √n (Student's t, n = {runs.Count}); it describes this platform's seeds. ");
        md.Append("Another CPU or GPU gives other last bits and, after training, other numbers: VerifyExperiments checks such a machine against this spread (docs/reproducibility.md, \"Verify\").\n");
        return md.ToString();
    }

    /// <summary>
    /// The change of the accuracy <paramref name="now"/> (computed on <paramref name="platform"/>) against a lock entry:
    /// that platform's seeds when the entry has them, else its distribution (marked "other platform"); "new" without one.
    /// </summary>
    public static string DeltaVsLock(LockEntry? locked, SeedStatistics now, string platform)
    {
        var then = locked is null ? null
            : locked.Platforms.TryGetValue(platform, out var same) ? same.Statistics(Metric.Accuracy)
            : locked.Distribution()?.Statistics(Metric.Accuracy);
        return then is null || then.N == 0 || now.N == 0 ? "new"
            : Metric.Accuracy.FormatDelta(now.Mean - then.Mean) + (locked!.Platforms.ContainsKey(platform) ? "" : " (other platform)");
    }

    /// <summary>
    /// The closing table, the first thing a person reads after a build: per experiment the test accuracy (mean ± std
    /// over a sweep's seeds), its change against the lock as it was before this build (the same platform's numbers
    /// when the lock has them), and whether any of its runs ran or all were up to date.
    /// </summary>
    public static IEnumerable<string> Summary(IReadOnlyList<(LockEntry Current, LockEntry? Before, bool Ran)> rows)
    {
        var table = new List<string[]> { new[] { "experiment", "test accuracy", "Δ vs lock", "status" } };
        foreach (var (current, before, ran) in rows)
        {
            var now = current.Platforms[current.Reference].Statistics(Metric.Accuracy);
            table.Add([current.Name, Spread(Metric.Accuracy, now), DeltaVsLock(before, now, current.Reference), ran ? "ran" : "up to date"]);
        }
        var widths = Enumerable.Range(0, 4).Select(c => table.Max(r => r[c].Length)).ToArray();
        return table.Select(r => "Repro: " + string.Join("  ", r.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
    }
}
