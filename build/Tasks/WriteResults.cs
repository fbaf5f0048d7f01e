using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// After the stages: locks the selected experiments' results in the committed lock file (every seed, under this
/// machine's numerics platform; entries of experiments not selected keep their previous entry; the file is rewritten
/// only when its content changes), writes results.md, one table of the selection beside the tutorial's own figures,
/// for each seed sweep a summary report.md (mean ± std, 95 % interval, per-seed values) in the experiment's folder, and
/// for each experiment whose results are locked the committed snapshot results/&lt;experiment&gt;.md beside the lock.
/// Ends the build with a short table: each experiment's accuracy, its change against the lock, and whether it ran.
/// </summary>
public sealed class WriteResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The selected runs (ReadExperiments' output: one per seed of a sweep), with their OutputDirectory metadata.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The lock file, e.g. results/experiments.lock.json beside experiments.yaml.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The markdown table to write, e.g. artifacts/results.md.</summary>
    [Required]
    public string ReportFile { get; set; } = "";

    /// <summary>The fingerprint of the source code that produced the results (see <see cref="CodeFingerprint"/>).</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    /// <summary>"add": record this platform's exact results beside those already locked for the same settings.</summary>
    public string LockPlatform { get; set; } = "";

    /// <summary>Lock command-line variants (-p:Set) too; by default they are reported but their results stay out of the lock.</summary>
    public bool LockVariants { get; set; }

    /// <summary>The runs any stage of which ran in this build (the others were up to date), for the closing summary.</summary>
    public ITaskItem[] Ran { get; set; } = [];

    public override bool Execute()
    {
        if (LockPlatform is not ("" or "add"))
        {
            Log.LogError("Repro", ErrorCodes.BadLockPlatform, null, LockFile, 0, 0, 0, 0, $"-p:ReproLockPlatform must be 'add' or empty, not '{LockPlatform}'");
            return false;
        }
        var locked = ResultsLock.Read(File.Exists(LockFile) ? File.ReadAllText(LockFile) : null);
        var groups = new List<(LockEntry Current, IReadOnlyList<ExperimentResult> Runs, ITaskItem First, IReadOnlyList<ITaskItem> Items)>();
        foreach (var group in Experiments.GroupBy(i => ExperimentName(i)))
        {
            var runs = new List<ExperimentResult>();
            foreach (var item in group)
            {
                string dir = item.GetMetadata("OutputDirectory");
                if (ExperimentResult.FromOutput(dir, CodeFingerprint, Seed(item)) is { } result)
                    runs.Add(result);
                else
                    Log.LogError("Repro", ErrorCodes.NoCompleteResult, null, item.GetMetadata("ConfigFile"), ParseLine(item), 0, 0, 0,
                        $"experiment '{item.ItemSpec}' has no complete result in {dir} (metrics.json missing)");
            }
            if (runs.Count == group.Count())
                groups.Add((LockEntry.FromRuns(runs), runs, group.First(), [.. group]));
        }
        if (Log.HasLoggedErrors)
            return false;

        var before = new Dictionary<string, LockEntry?>(StringComparer.Ordinal);
        var snapshots = new List<string>();
        foreach (var (current, _, _, items) in groups)
        {
            before[current.Name] = locked.GetValueOrDefault(current.Name);
            if (!LockVariants && ExperimentVariant.IsVariant(current.Name))
                continue;
            var (entry, outcome) = ResultsLock.Merge(locked.GetValueOrDefault(current.Name), current, LockPlatform == "add");
            locked[current.Name] = entry;
            // The snapshot shows the lock's own results: a foreign platform's runs that the lock did not take must not
            // replace them. An added platform keeps the reference platform's snapshot too.
            if (outcome is not (ResultsLock.MergeOutcome.NotRecorded or ResultsLock.MergeOutcome.Added))
                snapshots.Add(current.Name);
            if (outcome == ResultsLock.MergeOutcome.NotRecorded)
                Log.LogMessage(MessageImportance.High,
                    $"Repro: {current.Name}: this machine's numerics platform {current.Reference} is not in {Path.GetFileName(LockFile)} " +
                    $"(locked on {string.Join(", ", entry.Platforms.Keys)}); its results were not recorded. -p:ReproLockPlatform=add records them " +
                    "beside the others, so that VerifyExperiments checks this platform bit for bit");
            else if (outcome == ResultsLock.MergeOutcome.Added)
                Log.LogMessage(MessageImportance.High, $"Repro: {current.Name}: recorded platform {current.Reference} beside {string.Join(", ", entry.Platforms.Keys.Where(k => k != current.Reference))}");
        }

        if (AtomicFile.WriteIfChanged(LockFile, ResultsLock.Write(locked.Values)))
            Log.LogMessage(MessageImportance.High, $"Repro: updated {LockFile}");
        foreach (var (current, runs, first, items) in groups.Where(g => g.First.GetMetadata("Sweep") == "true"))
            AtomicFile.WriteIfChanged(ExperimentLayout.ForRun(first.GetMetadata("OutputDirectory")).SweepReport, SweepReport(current, runs, first));
        AtomicFile.WriteIfChanged(ReportFile, Table(groups.Select(g => (g.Runs, g.First, g.Items)).ToList()));
        foreach (var (current, _, _, items) in groups.Where(g => snapshots.Contains(g.Current.Name)))
        {
            var snapshot = ResultSnapshots.FromOutputs(current.Name, [.. items.Select(i => (Seed(i), i.GetMetadata("OutputDirectory")))]);
            string path = ResultSnapshots.PathFor(LockFile, current.Name);
            if (snapshot is not null && AtomicFile.WriteIfChanged(path, snapshot.Render()))
                Log.LogMessage(MessageImportance.High, $"Repro: updated {path}");
        }
        var ran = Ran.Select(r => r.ItemSpec).ToHashSet(StringComparer.Ordinal);
        foreach (var line in Summary([.. groups.Select(g => (g.Current, before[g.Current.Name], g.Items.Any(i => ran.Contains(i.ItemSpec))))]))
            Log.LogMessage(MessageImportance.High, line);
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// The closing table, the first thing a person reads after a build: per experiment the test accuracy (mean ± std
    /// over a sweep's seeds), its change against the lock as it was before this build (the same platform's numbers
    /// when the lock has them), and whether any of its runs ran or all were up to date.
    /// </summary>
    internal static IEnumerable<string> Summary(IReadOnlyList<(LockEntry Current, LockEntry? Before, bool Ran)> rows)
    {
        var table = new List<string[]> { new[] { "experiment", "test accuracy", "Δ vs lock", "status" } };
        foreach (var (current, before, ran) in rows)
        {
            var now = current.Platforms[current.Reference].Statistics("accuracy");
            var then = before is null ? null
                : before.Platforms.TryGetValue(current.Reference, out var same) ? same.Statistics("accuracy")
                : before.Distribution()?.Statistics("accuracy");
            string delta = then is null || then.N == 0 ? "new"
                : ((now.Mean - then.Mean) * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp"
                  + (before!.Platforms.ContainsKey(current.Reference) ? "" : " (other platform)");
            table.Add([current.Name, Spread("accuracy", now), delta, ran ? "ran" : "up to date"]);
        }
        var widths = Enumerable.Range(0, 4).Select(c => table.Max(r => r[c].Length)).ToArray();
        return table.Select(r => "Repro: " + string.Join("  ", r.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
    }

    internal static string ExperimentName(ITaskItem item) => item.GetMetadata("Experiment") is { Length: > 0 } name ? name : item.ItemSpec;

    internal static ulong Seed(ITaskItem item) =>
        ulong.TryParse(item.GetMetadata("Seed"), NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong seed) ? seed : 1;

    private static int ParseLine(ITaskItem item) =>
        int.TryParse(item.GetMetadata("Line"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int line) ? line : 0;

    private static string Table(List<(IReadOnlyList<ExperimentResult> Runs, ITaskItem First, IReadOnlyList<ITaskItem> Items)> groups)
    {
        var md = new StringBuilder();
        md.Append("# Results\n\n");
        var platforms = groups.SelectMany(g => g.Runs).Select(r => r.Platform).DistinctBy(p => p.Id).ToList();
        foreach (var p in platforms)
            md.Append(CultureInfo.InvariantCulture, $"Numerics platform: {p.Describe()}\n\n");
        md.Append("Sweeps show mean ± sample standard deviation over their seeds, and the 95 % interval of the mean.\n\n");
        md.Append("| experiment | dataset | model | pretrained | frozen | seeds | test accuracy | 95 % interval | loss | macro F1 | tutorial | epochs | train time |\n");
        md.Append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var (runs, first, items) in groups)
        {
            var r = runs[0];
            var tutorial = TutorialFigure.Find(first.GetMetadata("Tutorial"));
            var seconds = items.Select(i => ExperimentResult.TrainSeconds(i.GetMetadata("OutputDirectory"))).ToList();
            string time = seconds.All(s => s is not null) ? TimeSpan.FromSeconds(Math.Round(seconds.Sum(s => s!.Value))).ToString("c", CultureInfo.InvariantCulture) : "";
            var accuracy = Stats(runs, "accuracy");
            md.Append(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Dataset} | {r.Model} | {(r.Pretrained.Length == 0 ? "no" : r.Pretrained)} | {(r.Freeze == "backbone" ? "backbone" : "no")} " +
                $"| {runs.Count} | {Spread("accuracy", accuracy)} | {Interval("accuracy", accuracy)} | {Spread("loss", Stats(runs, "loss"))} | {Spread("macro_f1", Stats(runs, "macro_f1"))} " +
                $"| {(tutorial is null ? "" : $"{tutorial.TestAccuracy * 100:F2}%")} | {r.Epochs} | {time} |\n");
        }
        // Only when a run skipped something, so that results.md of clean data keeps its exact table.
        var skipped = groups
            .Select(g => (g.Runs[0].Name, Files: g.Items.Select(i => SkippedImageList.FromOutput(i.GetMetadata("OutputDirectory"))).FirstOrDefault(f => f.Count > 0)))
            .Where(s => s.Files is not null)
            .ToList();
        if (skipped.Count > 0)
        {
            md.Append("\n## Skipped images\n\nImages that did not decode, left out by `skip_corrupt: true` (all of them are in each run's metrics.json):\n\n");
            foreach (var (name, files) in skipped)
                md.Append(CultureInfo.InvariantCulture, $"- {name}: {SkippedImages.Describe(files!)}\n");
        }
        var sweeps = groups.Where(g => g.Runs.Count > 1).ToList();
        if (sweeps.Count > 0)
        {
            md.Append("\n## Seeds\n\n| experiment | seed | test accuracy | loss | macro F1 |\n|---|---|---|---|---|\n");
            foreach (var run in sweeps.SelectMany(g => g.Runs))
                md.Append(CultureInfo.InvariantCulture, $"| {run.Name} | {run.Seed} | {Format("accuracy", run.Value("accuracy"))} | {Format("loss", run.Value("loss"))} | {Format("macro_f1", run.Value("macro_f1"))} |\n");
        }
        return md.ToString();
    }

    /// <summary>A sweep's report.md: the spread of its test metrics over the seeds, and each seed's values and report.</summary>
    private static string SweepReport(LockEntry entry, IReadOnlyList<ExperimentResult> runs, ITaskItem first)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {entry.Name}: {runs.Count} seeds\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{entry.Dataset}, {entry.Model}, {entry.Epochs} epochs, seeds {string.Join(", ", runs.Select(r => r.Seed))}. ");
        md.Append("Each seed is a separate run (its own initial weights, shuffling and augmentation, and its own split when the split is a seeded fraction); its full report is linked below.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Numerics platform: {runs[0].Platform.Describe()}\n\n");
        md.Append("| test metric | mean ± std | 95 % interval of the mean | min | max |\n|---|---|---|---|---|\n");
        foreach (var metric in ExperimentResult.SpreadMetricNames)
        {
            var stats = Stats(runs, metric);
            var values = runs.Select(r => r.Value(metric)).OfType<double>().ToList();
            md.Append(CultureInfo.InvariantCulture, $"| {Label(metric)} | {Spread(metric, stats)} | {Interval(metric, stats)} | {Format(metric, values.DefaultIfEmpty(double.NaN).Min())} | {Format(metric, values.DefaultIfEmpty(double.NaN).Max())} |\n");
        }
        md.Append("\n| seed | test accuracy | loss | macro F1 | report |\n|---|---|---|---|---|\n");
        foreach (var run in runs)
        {
            string folder = ExperimentLayout.RunFolder(run.Seed);
            md.Append(CultureInfo.InvariantCulture, $"| {run.Seed} | {Format("accuracy", run.Value("accuracy"))} | {Format("loss", run.Value("loss"))} | {Format("macro_f1", run.Value("macro_f1"))} | [{folder}/report.md]({folder}/report.md) |\n");
        }
        md.Append(CultureInfo.InvariantCulture, $"\nThe interval is the mean ± t(0.975, n - 1) · std / √n (Student's t, n = {runs.Count}); it describes this platform's seeds. ");
        md.Append("Another CPU or GPU gives other last bits and, after training, other numbers: VerifyExperiments checks such a machine against this spread (README, \"Verify\").\n");
        return md.ToString();
    }

    internal static SeedStatistics Stats(IEnumerable<ExperimentResult> runs, string metric) =>
        SeedStatistics.Of([.. runs.Select(r => r.Value(metric)).OfType<double>()]);

    internal static string Label(string metric) => metric switch
    {
        "accuracy" => "accuracy",
        "macro_f1" => "macro F1",
        _ => metric,
    };

    /// <summary>A metric for tables: accuracies as percentages, others with 4 decimals.</summary>
    internal static string Format(string metric, double? value) =>
        value is not { } v || !double.IsFinite(v) ? "—"
        : metric.EndsWith("accuracy", StringComparison.Ordinal) ? (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%"
        : v.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>Mean ± std (accuracies in percentage points); one seed: its value alone.</summary>
    internal static string Spread(string metric, SeedStatistics stats)
    {
        if (stats.N < 2)
            return Format(metric, stats.Mean);
        bool percent = metric.EndsWith("accuracy", StringComparison.Ordinal);
        string std = percent ? (stats.Std * 100).ToString("F2", CultureInfo.InvariantCulture) + " pp" : stats.Std.ToString("F4", CultureInfo.InvariantCulture);
        return $"{Format(metric, stats.Mean)} ± {std}";
    }

    /// <summary>The 95 % interval of the mean as "low – high"; empty for one seed.</summary>
    internal static string Interval(string metric, SeedStatistics stats) =>
        stats.N < 2 ? "" : $"{Format(metric, stats.Mean - stats.Ci95HalfWidth)} – {Format(metric, stats.Mean + stats.Ci95HalfWidth)}";
}
