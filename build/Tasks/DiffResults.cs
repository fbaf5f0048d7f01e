using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;

namespace Repro.Build.Tasks;

/// <summary>
/// Prints a markdown table of metric changes (old, new, delta) ready to paste into a pull request: by default
/// between the lock file and the experiments' current outputs; with <see cref="BaseRevision"/>, between the
/// lock file at that git revision and the working tree's lock file (or the lock at <see cref="HeadRevision"/>).
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

    /// <summary>The table that was printed.</summary>
    [Output]
    public string Table { get; private set; } = "";

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
            oldText = GitShow(BaseRevision);
            oldLabel = BaseRevision;
            newText = string.IsNullOrEmpty(HeadRevision) ? (File.Exists(LockFile) ? File.ReadAllText(LockFile) : null) : GitShow(HeadRevision);
            newLabel = string.IsNullOrEmpty(HeadRevision) ? "working tree" : HeadRevision;
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
        WriteResults.WriteIfChanged(DiffFile, Table);
        // One message per line: MSBuild indents messages, and a single multi-line one would be indented only once.
        foreach (var line in Table.TrimEnd('\n').Split('\n'))
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
        string root = Path.Combine(ArtifactsDirectory, "experiments");
        if (!Directory.Exists(root))
            yield break;
        foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var runs = new List<ExperimentResult>();
            if (ExperimentResult.FromOutput(dir, CodeFingerprint) is { } single)
                runs.Add(single);
            foreach (var seedDir in Directory.EnumerateDirectories(dir, "seed-*"))
                if (ulong.TryParse(Path.GetFileName(seedDir)["seed-".Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong seed)
                    && ExperimentResult.FromOutput(seedDir, CodeFingerprint, seed) is { } run)
                    runs.Add(run);
            if (runs.Count > 0)
                yield return LockEntry.FromRuns([.. runs.OrderBy(r => r.Seed)]);
        }
    }

    /// <summary>The lock file at a revision; an empty result when it did not exist there.</summary>
    private string? GitShow(string revision)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(LockFile))!;
        var info = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Directory.Exists(dir) ? dir : Path.GetDirectoryName(dir)! };
        // "rev:./path" resolves relative to the working directory, so this works wherever the lock sits in the repository.
        string relative = Path.GetRelativePath(info.WorkingDirectory, Path.GetFullPath(LockFile)).Replace('\\', '/');
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
            Log.LogMessage(MessageImportance.High, $"Repro: {revision} has no {relative}; every result counts as new");
            return null;
        }
        Log.LogError("Repro", "REPRO320", null, LockFile, 0, 0, 0, 0, $"git show {revision}:./{relative} failed: {stderr.Trim()}");
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
