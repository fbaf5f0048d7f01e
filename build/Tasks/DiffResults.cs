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

    /// <summary>A git revision whose lock file is the "old" side; empty: the working tree's lock file. An experiment's name
    /// instead compares that experiment's variants (&lt;name&gt;@…) with its own outputs.</summary>
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
        if (ParentOfVariants() is { } parent)
            return Write(VariantsAgainst(parent));
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
        return Write(new Sides(old, @new, oldLabel, newLabel, SnapshotTexts));
    }

    /// <summary>The two sides of a diff: entries by the name a row shows, labels, and each row's snapshot texts for the details.</summary>
    private sealed record Sides(IReadOnlyDictionary<string, LockEntry> Old, IReadOnlyDictionary<string, LockEntry> New, string OldLabel, string NewLabel,
        Func<string, (string? Old, string? New)> Snapshots);

    private bool Write(Sides sides)
    {
        if (Log.HasLoggedErrors)
            return false;
        Table = ResultsDiff.Table(sides.Old, sides.New, sides.OldLabel, sides.NewLabel);
        string markdown = Table + Details(sides.Old.Keys.Union(sides.New.Keys).Order(StringComparer.Ordinal).ToList(), sides.OldLabel, sides.NewLabel, sides.Snapshots);
        AtomicFile.WriteIfChanged(DiffFile, markdown);
        // One message per line: MSBuild indents messages, and a single multi-line one would be indented only once.
        foreach (var line in markdown.TrimEnd('\n').Split('\n'))
            Log.LogMessage(MessageImportance.High, line);
        Log.LogMessage(MessageImportance.High, $"Repro: diff written to {DiffFile}");
        return !Log.HasLoggedErrors;
    }

    /// <summary>
    /// -p:ReproDiffBase naming an experiment (not a variant) whose outputs are under the artifacts folder: its variants
    /// (&lt;name&gt;@…) are compared with it, rather than the lock with a git revision.
    /// </summary>
    private string? ParentOfVariants() =>
        BaseRevision is { Length: > 0 } name && !ExperimentVariant.IsVariant(name)
            && Directory.Exists(ExperimentLayout.For(ArtifactsDirectory, name, null).ExperimentDirectory) ? name : null;

    /// <summary>Each variant of <paramref name="parent"/> (a row named after the variant) against the parent's own outputs.</summary>
    private Sides VariantsAgainst(string parent)
    {
        var parentRuns = RunsIn(ExperimentLayout.For(ArtifactsDirectory, parent, null).ExperimentDirectory);
        var old = new Dictionary<string, LockEntry>(StringComparer.Ordinal);
        var @new = new Dictionary<string, LockEntry>(StringComparer.Ordinal);
        var snapshots = new Dictionary<string, (string?, string?)>(StringComparer.Ordinal);
        string? parentSnapshot = parentRuns.Count == 0 ? null : ResultSnapshots.From(parentRuns).Render();
        string root = ExperimentLayout.ExperimentsRoot(ArtifactsDirectory);
        foreach (var dir in Directory.EnumerateDirectories(root).Where(d => ExperimentVariant.ParentOf(Path.GetFileName(d)) == parent && ExperimentVariant.IsVariant(Path.GetFileName(d))))
        {
            var runs = RunsIn(dir);
            string name = Path.GetFileName(dir);
            if (runs.Count == 0)
                continue;
            @new[name] = LockEntry.FromRuns(runs, CodeFingerprint);
            if (parentRuns.Count > 0)
                old[name] = LockEntry.FromRuns(parentRuns, CodeFingerprint);
            snapshots[name] = (parentSnapshot, ResultSnapshots.From(runs).Render());
        }
        if (@new.Count == 0)
            Log.LogMessage(MessageImportance.High, $"Repro: {parent} has no variants with results in {root} (run one with -p:Set=\"key=value\")");
        return new Sides(old, @new, parent, "variant", name => snapshots.GetValueOrDefault(name));
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
            if (RunsIn(dir) is { Count: > 0 } runs)
                yield return LockEntry.FromRuns(runs, CodeFingerprint);
        }
    }

    /// <summary>
    /// The complete runs of the experiment in <paramref name="experimentDirectory"/>, by seed: a sweep's seed folders
    /// (files beside them are left from before the experiment had seeds), else the folder's own run.
    /// </summary>
    private List<RunResult> RunsIn(string experimentDirectory)
    {
        var experiment = ExperimentLayout.ForRun(experimentDirectory);
        var runs = experiment.SeedRuns().Select(s => Read(s.Run.Directory)).OfType<RunResult>().OrderBy(r => r.Seed).ToList();
        if (runs.Count == 0 && Read(experimentDirectory) is { } single)
            runs.Add(single);
        return runs;
    }

    private RunResult? Read(string directory)
    {
        try
        {
            return RunResult.Read(directory);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            Log.LogError("Repro", ErrorCodes.UnreadableResult, null, ExperimentLayout.ForRun(directory).Metrics, 0, 0, 0, 0, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Per experiment whose snapshot differs between the sides: a section with the plots' links and the per-class
    /// deltas; the plots themselves are drawn afterwards by the host from the <see cref="Plots"/> items.
    /// </summary>
    private string Details(IReadOnlyList<string> names, string oldLabel, string newLabel, Func<string, (string? Old, string? New)> snapshotTexts)
    {
        var md = new StringBuilder();
        var plots = new List<ITaskItem>();
        foreach (var name in names)
        {
            var (oldText, newText) = snapshotTexts(name);
            if (oldText == newText)
                continue;
            md.Append(CultureInfo.InvariantCulture, $"\n## {name}\n\n");
            if (oldText is null || newText is null)
            {
                md.Append(CultureInfo.InvariantCulture, $"No results snapshot (results/{name}.md) {(oldText is null ? $"at {oldLabel}" : $"in {newLabel}")}: nothing to plot against.\n");
                continue;
            }
            try
            {
                var (a, b) = (ResultsSnapshot.Parse(oldText), ResultsSnapshot.Parse(newText));
                plots.Add(Section(md, name, (oldLabel, oldText, a), (newLabel, newText, b)));
            }
            catch (InvalidDataException e)
            {
                Log.LogError("Repro", ErrorCodes.UnreadableSnapshot, null, ResultSnapshots.PathFor(LockFile, name), 0, 0, 0, 0, $"unreadable results snapshot: {e.Message}");
            }
        }
        Plots = [.. plots];
        return md.ToString();
    }

    /// <summary>
    /// One experiment's section (plot links, per-class deltas) and its plot item: the two snapshots written beside the
    /// PNGs the host draws from them.
    /// </summary>
    private TaskItem Section(StringBuilder md, string name, (string Label, string Text, ResultsSnapshot Snapshot) old, (string Label, string Text, ResultsSnapshot Snapshot) @new)
    {
        string diffDirectory = Path.GetDirectoryName(Path.GetFullPath(DiffFile))!;
        string folder = Path.Combine(string.IsNullOrEmpty(PlotsDirectory) ? Path.Combine(diffDirectory, "diff") : Path.GetFullPath(PlotsDirectory), name);
        Directory.CreateDirectory(folder);
        var item = new TaskItem(name);
        item.SetMetadata("Base", Path.Combine(folder, "base.md"));
        item.SetMetadata("Head", Path.Combine(folder, "head.md"));
        item.SetMetadata("BaseLabel", old.Label);
        item.SetMetadata("HeadLabel", @new.Label);
        item.SetMetadata("Curves", Path.Combine(folder, "curves.png"));
        bool sameClasses = old.Snapshot.Classes.Select(c => c.Name).SequenceEqual(@new.Snapshot.Classes.Select(c => c.Name)) && old.Snapshot.Classes.Count > 0;
        item.SetMetadata("Confusion", sameClasses ? Path.Combine(folder, "confusion-change.png") : "");
        item.SetMetadata("ConfusionArgument", sameClasses ? $" --confusion \"{item.GetMetadata("Confusion")}\"" : "");
        AtomicFile.WriteIfChanged(item.GetMetadata("Base"), old.Text);
        AtomicFile.WriteIfChanged(item.GetMetadata("Head"), @new.Text);

        string Link(string path) => Path.GetRelativePath(diffDirectory, path).Replace('\\', '/');
        md.Append(CultureInfo.InvariantCulture, $"![{name}: training curves, {old.Label} dashed vs {@new.Label}]({Link(item.GetMetadata("Curves"))})\n");
        if (sameClasses)
        {
            md.Append(CultureInfo.InvariantCulture, $"![{name}: confusion matrix change, {@new.Label} - {old.Label}]({Link(item.GetMetadata("Confusion"))})\n\n");
            md.Append(ResultsDiff.PerClass(old.Snapshot, @new.Snapshot));
        }
        else
        {
            md.Append("\nThe two sides have different classes: no per-class comparison.\n");
        }
        return item;
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
            var runs = RunsIn(ExperimentLayout.For(ArtifactsDirectory, name, null).ExperimentDirectory);
            return (working, runs.Count == 0 ? null : ResultSnapshots.From(runs).Render());
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

    /// <summary>A revision as tables and plot titles name it: a full commit id (CI passes the base's) shortened to 12 digits as git does.</summary>
    internal static string Label(string revision) =>
        revision.Length == 40 && revision.All(char.IsAsciiHexDigit) ? revision[..12] : revision;
}
