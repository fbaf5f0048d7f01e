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

    /// <summary>The fingerprint of the source code that produced the results (see <see cref="Tasks.CodeFingerprint"/>).</summary>
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
        if (ResultReader.RequireAll(Log, Experiments) is not { } all)
            return false;
        var experiments = all.GroupBy(r => r.Name).Select(g => (IReadOnlyList<RunResult>)[.. g.OrderBy(r => r.Seed)]).ToList();

        // Fewer runs than the sweep has seeds: -p:ReproLockSeeds ran only its first seeds.
        var parts = experiments.Where(runs => runs.Count < runs[0].Spec.Seeds.Count).ToDictionary(runs => runs[0].Name, runs => runs[0].Spec.Seeds.Count, StringComparer.Ordinal);
        var recording = ResultsLock.Record(ResultsLock.Read(File.Exists(LockFile) ? File.ReadAllText(LockFile) : null),
            [.. experiments.Select(runs => LockEntry.FromRuns(runs, CodeFingerprint))], LockPlatform == "add", Path.GetFileName(LockFile), parts);
        foreach (var error in recording.Errors)
            Log.LogError("Repro", ErrorCodes.PartNotLockable, null, LockFile, 0, 0, 0, 0, error);
        if (recording.Errors.Count > 0)
            return false;
        foreach (var line in recording.Messages)
            Log.LogMessage(MessageImportance.High, $"Repro: {line}");
        if (AtomicFile.WriteIfChanged(LockFile, ResultsLock.Write(recording.Locked.Values.Where(e => Locks(e.Name)))))
            Log.LogMessage(MessageImportance.High, $"Repro: updated {LockFile}");

        foreach (var runs in experiments.Where(g => g[0].Spec.IsSweep))
            AtomicFile.WriteIfChanged(runs[0].Run.Layout.SweepReport, ResultsReport.SweepReport(recording.Locked[runs[0].Name], runs));
        AtomicFile.WriteIfChanged(ReportFile, ResultsReport.Table(experiments));
        foreach (var runs in experiments.Where(g => recording.Snapshots.Contains(g[0].Name) && Locks(g[0].Name)))
        {
            string path = ResultSnapshots.PathFor(LockFile, runs[0].Name);
            if (AtomicFile.WriteIfChanged(path, ResultSnapshots.From(runs).Render()))
                Log.LogMessage(MessageImportance.High, $"Repro: updated {path}");
        }
        var ran = Ran.Select(r => r.ItemSpec).ToHashSet(StringComparer.Ordinal);
        var rows = experiments.Select(runs => (recording.Current[runs[0].Name], recording.Before[runs[0].Name], runs.Any(r => ran.Contains(r.Run.Name)))).ToList();
        foreach (var line in ResultsReport.Summary(rows))
            Log.LogMessage(MessageImportance.High, line);
        return !Log.HasLoggedErrors;
    }

    private bool Locks(string experiment) => LockVariants || !ExperimentVariant.IsVariant(experiment);
}
