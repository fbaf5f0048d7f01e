using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// Prints a markdown table of metric changes (old, new, delta) ready to paste into a pull request: by default
/// between the lock file and the experiments' current outputs; with <see cref="BaseRevision"/>, between the
/// lock file at that git revision and the working tree's lock file (or the lock at <see cref="HeadRevision"/>).
/// For each experiment whose results snapshot (results/&lt;experiment&gt;.md) changed, it adds per-class deltas and
/// links to two plots (training curves overlaid, confusion change), and returns what the plots need in
/// <see cref="Plots"/>: the base and head snapshots written under the plots folder, for the F# host's <c>diff-plots</c>
/// to draw. The base side is the committed snapshot at the base revision (git show), so nothing re-runs.
/// </summary>
public sealed class DiffResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The lock file in the working tree.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>Folder holding experiments/&lt;name&gt;/ outputs, compared when no revision is given.</summary>
    [Required]
    public string ArtifactsDirectory { get; set; } = "";

    /// <summary>A git revision whose lock file is the "old" side; empty: the working tree's lock file.</summary>
    public string? BaseRevision { get; set; }

    /// <summary>A git revision whose lock file is the "new" side (needs <see cref="BaseRevision"/>); empty: the working tree's.</summary>
    public string? HeadRevision { get; set; }

    /// <summary>Where to write the table as well (e.g. artifacts/diff.md).</summary>
    [Required]
    public string DiffFile { get; set; } = "";

    /// <summary>The current code fingerprint, recorded for results read from the outputs.</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    /// <summary>Folder for each experiment's base/head snapshots and plots; default: diff/ beside <see cref="DiffFile"/>.</summary>
    public string? PlotsDirectory { get; set; }

    /// <summary>The metrics table (the diff file adds per-experiment sections with per-class deltas and plots below it).</summary>
    [Output]
    public string Table { get; private set; } = "";

    /// <summary>One item per experiment to plot, with metadata Base, Head (snapshot files), BaseLabel, HeadLabel, Curves and Confusion (PNGs; Confusion empty when the classes differ), ConfusionArgument (the host's option for it, or empty).</summary>
    [Output]
    public ITaskItem[] Plots { get; private set; } = [];

    public override bool Execute()
    {
        string? oldText, newText;
        string oldLabel, newLabel;
        if (string.IsNullOrEmpty(BaseRevision))
        {
            oldText = File.Exists(LockFile) ? File.ReadAllText(LockFile) : null;
            oldLabel = "locked";
            newText = ResultsLock.Write(CurrentOutputs());
            newLabel = "working tree";
        }
        else
        {
            oldText = GitShow(BaseRevision, LockFile);
            oldLabel = Label(BaseRevision);
            newText = string.IsNullOrEmpty(HeadRevision) ? (File.Exists(LockFile) ? File.ReadAllText(LockFile) : null) : GitShow(HeadRevision, LockFile);
            newLabel = string.IsNullOrEmpty(HeadRevision) ? "working tree" : Label(HeadRevision);
        }
        if (Log.HasLoggedErrors)
            return false;

        var old = ResultsLock.Read(oldText);
        var @new = ResultsLock.Read(newText);
        // Against the outputs, an experiment without outputs was not run here, which says nothing about its result.
        if (string.IsNullOrEmpty(BaseRevision))
            foreach (var name in old.Keys.Except(@new.Keys).ToList())
                old.Remove(name);
        Table = Diff(old, @new, oldLabel, newLabel);
        string markdown = Table + Details(old.Keys.Union(@new.Keys).Order(StringComparer.Ordinal).ToList(), oldLabel, newLabel);
        AtomicFile.WriteIfChanged(DiffFile, markdown);
        // One message per line: MSBuild indents messages, and a single multi-line one would be indented only once.
        foreach (var line in markdown.TrimEnd('\n').Split('\n'))
            Log.LogMessage(MessageImportance.High, line);
        Log.LogMessage(MessageImportance.High, $"Repro: diff written to {DiffFile}");
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// Results of every experiment under the artifacts folder that has a complete result: the folder itself, or each
    /// <c>seed-&lt;s&gt;</c> folder of a sweep.
    /// </summary>
    private IEnumerable<LockEntry> CurrentOutputs()
    {
        string root = ExperimentLayout.ExperimentsRoot(ArtifactsDirectory);
        if (!Directory.Exists(root))
            yield break;
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var experiment = ExperimentLayout.ForRun(dir);
            var runs = new List<ExperimentResult>();
            foreach (var (seed, seedRun) in experiment.SeedRuns())
                if (ExperimentResult.FromOutput(seedRun.Directory, CodeFingerprint, seed) is { } run)
                    runs.Add(run);
            // A sweep's seed folders are its results; files beside them are left from before the experiment had seeds.
            if (runs.Count == 0 && ExperimentResult.FromOutput(dir, CodeFingerprint) is { } single)
                runs.Add(single);
            if (runs.Count > 0)
                yield return LockEntry.FromRuns([.. runs.OrderBy(r => r.Seed)]);
        }
    }

    /// <summary>
    /// Per experiment whose snapshot differs between the sides: a section with the plots' links and the per-class
    /// deltas; the plots themselves are drawn afterwards by the host from the <see cref="Plots"/> items.
    /// </summary>
    private string Details(IReadOnlyList<string> names, string oldLabel, string newLabel)
    {
        var md = new StringBuilder();
        var plots = new List<ITaskItem>();
        string diffDirectory = Path.GetDirectoryName(Path.GetFullPath(DiffFile))!;
        string plotsDirectory = string.IsNullOrEmpty(PlotsDirectory) ? Path.Combine(diffDirectory, "diff") : Path.GetFullPath(PlotsDirectory);
        foreach (var name in names)
        {
            var (oldText, newText) = SnapshotTexts(name);
            if (oldText == newText)
                continue;
            md.Append(CultureInfo.InvariantCulture, $"\n## {name}\n\n");
            if (oldText is null || newText is null)
            {
                md.Append(CultureInfo.InvariantCulture, $"No results snapshot (results/{name}.md) {(oldText is null ? $"at {oldLabel}" : $"in {newLabel}")}: nothing to plot against.\n");
                continue;
            }
            ResultsSnapshot a, b;
            try
            {
                (a, b) = (ResultsSnapshot.Parse(oldText), ResultsSnapshot.Parse(newText));
            }
            catch (InvalidDataException e)
            {
                Log.LogError("Repro", ErrorCodes.UnreadableSnapshot, null, ResultSnapshots.PathFor(LockFile, name), 0, 0, 0, 0, $"unreadable results snapshot: {e.Message}");
                continue;
            }
            string folder = Path.Combine(plotsDirectory, name);
            Directory.CreateDirectory(folder);
            var item = new TaskItem(name);
            item.SetMetadata("Base", Path.Combine(folder, "base.md"));
            item.SetMetadata("Head", Path.Combine(folder, "head.md"));
            item.SetMetadata("BaseLabel", oldLabel);
            item.SetMetadata("HeadLabel", newLabel);
            item.SetMetadata("Curves", Path.Combine(folder, "curves.png"));
            bool sameClasses = a.Classes.Select(c => c.Name).SequenceEqual(b.Classes.Select(c => c.Name)) && a.Classes.Count > 0;
            item.SetMetadata("Confusion", sameClasses ? Path.Combine(folder, "confusion-change.png") : "");
            item.SetMetadata("ConfusionArgument", sameClasses ? $" --confusion \"{item.GetMetadata("Confusion")}\"" : "");
            AtomicFile.WriteIfChanged(item.GetMetadata("Base"), oldText);
            AtomicFile.WriteIfChanged(item.GetMetadata("Head"), newText);
            plots.Add(item);

            string Link(string path) => Path.GetRelativePath(diffDirectory, path).Replace('\\', '/');
            md.Append(CultureInfo.InvariantCulture, $"![{name}: training curves, {oldLabel} dashed vs {newLabel}]({Link(item.GetMetadata("Curves"))})\n");
            if (sameClasses)
            {
                md.Append(CultureInfo.InvariantCulture, $"![{name}: confusion matrix change, {newLabel} - {oldLabel}]({Link(item.GetMetadata("Confusion"))})\n\n");
                md.Append(PerClass(a, b));
            }
            else
            {
                md.Append("\nThe two sides have different classes: no per-class comparison.\n");
            }
        }
        Plots = [.. plots];
        return md.ToString();
    }

    /// <summary>Per-class accuracy and F1, old and new, of the first seed on each side (the snapshots' per-class tables).</summary>
    internal static string PerClass(ResultsSnapshot a, ResultsSnapshot b)
    {
        var md = new StringBuilder();
        string seed = a.Runs.Count > 1 || b.Runs.Count > 1 ? $" (first seed: {a.Runs.FirstOrDefault()?.Seed} vs {b.Runs.FirstOrDefault()?.Seed})" : "";
        md.Append(CultureInfo.InvariantCulture, $"Per class{seed}:\n\n| class | accuracy (old) | accuracy (new) | delta | F1 (old) | F1 (new) | delta |\n|---|---|---|---|---|---|---|\n");
        int unchanged = 0;
        for (int i = 0; i < b.Classes.Count; i++)
        {
            var (o, n) = (a.Classes[i].Values, b.Classes[i].Values);
            // Only the classes that moved: with dozens of classes the table would otherwise bury them.
            if (o.GetValueOrDefault("accuracy") == n.GetValueOrDefault("accuracy") && o.GetValueOrDefault("f1") == n.GetValueOrDefault("f1"))
            {
                unchanged++;
                continue;
            }
            md.Append(CultureInfo.InvariantCulture,
                $"| {b.Classes[i].Name} | {ExperimentResult.Display("accuracy", o.GetValueOrDefault("accuracy"))} | {ExperimentResult.Display("accuracy", n.GetValueOrDefault("accuracy"))} | {Delta("accuracy", o.GetValueOrDefault("accuracy"), n.GetValueOrDefault("accuracy"))} " +
                $"| {o.GetValueOrDefault("f1") ?? "—"} | {n.GetValueOrDefault("f1") ?? "—"} | {Delta("f1", o.GetValueOrDefault("f1"), n.GetValueOrDefault("f1"))} |\n");
        }
        if (unchanged > 0)
            md.Append(CultureInfo.InvariantCulture, $"\n{unchanged} of {b.Classes.Count} classes unchanged.\n");
        return md.ToString();
    }

    /// <summary>
    /// An experiment's snapshot on each side: with a base revision, results/&lt;name&gt;.md there and in the working tree
    /// (or at the head revision); without, the working tree's committed snapshot against one made from the outputs.
    /// </summary>
    private (string? Old, string? New) SnapshotTexts(string name)
    {
        string path = ResultSnapshots.PathFor(LockFile, name);
        string? working = File.Exists(path) ? File.ReadAllText(path) : null;
        if (string.IsNullOrEmpty(BaseRevision))
        {
            var experiment = ExperimentLayout.For(ArtifactsDirectory, name, null);
            var runs = new List<(ulong, string)>();
            if (File.Exists(experiment.Metrics))
                runs.Add((1, experiment.Directory));
            foreach (var (seed, seedRun) in experiment.SeedRuns())
                if (File.Exists(seedRun.Metrics))
                    runs.Add((seed, seedRun.Directory));
            return (working, ResultSnapshots.FromOutputs(name, runs)?.Render());
        }
        string? old = GitShow(BaseRevision, path, quiet: true);
        string? @new = string.IsNullOrEmpty(HeadRevision) ? working : GitShow(HeadRevision, path, quiet: true);
        return (old, @new);
    }

    /// <summary>A file at a revision; null when it did not exist there (said once for the lock file, silently for snapshots).</summary>
    private string? GitShow(string revision, string file, bool quiet = false)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(LockFile))!;
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Directory.Exists(dir) ? dir : Path.GetDirectoryName(dir)! };
        // "rev:./path" resolves relative to the working directory, so this works wherever the lock sits in the repository.
        string relative = Path.GetRelativePath(info.WorkingDirectory, Path.GetFullPath(file)).Replace('\\', '/');
        foreach (var arg in new[] { "show", $"{revision}:./{relative}" })
            info.ArgumentList.Add(arg);
        using var git = Process.Start(info)!;
        var stdout = git.StandardOutput.ReadToEndAsync();
        string stderr = git.StandardError.ReadToEnd();
        git.WaitForExit();
        if (git.ExitCode == 0)
            return stdout.Result;
        if (stderr.Contains("does not exist in", StringComparison.Ordinal) || stderr.Contains("exists on disk, but not in", StringComparison.Ordinal))
        {
            if (quiet)
                return null;
            Log.LogMessage(MessageImportance.High, $"Repro: {revision} has no {relative}; every result counts as new");
            return null;
        }
        Log.LogError("Repro", ErrorCodes.GitShowFailed, null, file, 0, 0, 0, 0, $"git show {revision}:./{relative} failed: {stderr.Trim()}");
        return null;
    }

    internal static string Diff(IReadOnlyDictionary<string, LockEntry> old, IReadOnlyDictionary<string, LockEntry> @new, string oldLabel, string newLabel)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"| experiment | metric | old ({oldLabel}) | new ({newLabel}) | delta |\n|---|---|---|---|---|\n");
        int rows = 0;
        foreach (var name in old.Keys.Union(@new.Keys).Order(StringComparer.Ordinal))
        {
            var (o, n) = Compared(old.GetValueOrDefault(name), @new.GetValueOrDefault(name));
            // A sweep on either side compares means, and says how far the new mean moved in units of the old spread.
            if (o?.Seeds.Count > 1 || n?.Seeds.Count > 1)
            {
                foreach (var metric in ExperimentResult.SpreadMetricNames)
                {
                    var a = o?.Statistics(metric);
                    var b = n?.Statistics(metric);
                    if (a?.N == b?.N && (a is null || (a.Mean == b!.Mean && (a.N < 2 || a.Std == b.Std))))
                        continue;
                    md.Append(CultureInfo.InvariantCulture, $"| {name} | {metric} | {Side(metric, a)} | {Side(metric, b)} | {SpreadDelta(metric, a, b)} |\n");
                    rows++;
                }
                continue;
            }
            var om = o?.Seeds.Values.FirstOrDefault();
            var nm = n?.Seeds.Values.FirstOrDefault();
            foreach (var metric in ExperimentResult.MetricNames)
            {
                string? a = om?.GetValueOrDefault(metric);
                string? b = nm?.GetValueOrDefault(metric);
                if (a == b)
                    continue;
                md.Append(CultureInfo.InvariantCulture, $"| {name} | {metric} | {ExperimentResult.Display(metric, a)} | {ExperimentResult.Display(metric, b)} | {Delta(metric, a, b)} |\n");
                rows++;
            }
        }
        if (rows == 0)
            md.Append("| (no changes) | | | | |\n");
        return md.ToString();
    }

    /// <summary>A revision as tables and plot titles name it: a full commit id (CI passes the base's) shortened to 12 digits as git does.</summary>
    internal static string Label(string revision) =>
        revision.Length == 40 && revision.All(char.IsAsciiHexDigit) ? revision[..12] : revision;

    /// <summary>The platforms' results to compare: the same platform on both sides when there is one, else each side's distribution.</summary>
    private static (PlatformResults? Old, PlatformResults? New) Compared(LockEntry? old, LockEntry? @new)
    {
        if (old is not null && @new is not null)
            foreach (var id in old.Platforms.Keys)
                if (@new.Platforms.TryGetValue(id, out var shared))
                    return (old.Platforms[id], shared);
        return (old?.Distribution(), @new?.Distribution());
    }

    private static string Side(string metric, SeedStatistics? stats) =>
        stats is null || stats.N == 0 ? "—" : $"{WriteResults.Spread(metric, stats)} (n = {stats.N})";

    private static string SpreadDelta(string metric, SeedStatistics? a, SeedStatistics? b)
    {
        if (a is null || b is null || a.N == 0 || b.N == 0)
            return a is null || a.N == 0 ? "added" : "removed";
        double d = b.Mean - a.Mean;
        bool percent = metric.EndsWith("accuracy", StringComparison.Ordinal);
        string text = percent ? (d * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp" : d.ToString("+0.000000;-0.000000;0.000000", CultureInfo.InvariantCulture);
        return a.N >= 2 && a.Std > 0 ? $"{text} ({(d / a.Std).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture)} σ of the old seeds)" : text;
    }

    private static string Delta(string metric, string? a, string? b)
    {
        if (a is null || b is null)
            return a is null ? "added" : "removed";
        double d = double.Parse(b, CultureInfo.InvariantCulture) - double.Parse(a, CultureInfo.InvariantCulture);
        bool percent = metric.EndsWith("accuracy", StringComparison.Ordinal);
        string text = percent ? (d * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp"
            : metric is "correct" or "images" ? d.ToString("+0;-0;0", CultureInfo.InvariantCulture)
            : d.ToString("+0.000000;-0.000000;0.000000", CultureInfo.InvariantCulture);
        return text;
    }
}
