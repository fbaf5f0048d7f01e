using System.Diagnostics;
using Repro.Config;

namespace Repro.Build.Tasks.Tests;

public sealed class DiffResultsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-diff-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string LockFile => Path.Combine(dir, "results", "experiments.lock.json");

    /// <summary>Writes a lock file with the given accuracies, from outputs as RunExperiments would leave them.</summary>
    private void Lock(params (string Name, string Accuracy)[] results)
    {
        string artifacts = Path.Combine(dir, "locked-artifacts");
        var entries = results.Select(r => LockEntry.FromRuns([RunResult.Read(ResultFiles.WriteOutput(artifacts, r.Name, r.Accuracy))!], "c0de")).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        File.WriteAllText(LockFile, ResultsLock.Write(entries));
        Directory.Delete(artifacts, recursive: true);
    }

    private (bool Ok, DiffResults Task, RecordingBuildEngine Engine) Run(string? baseRevision = null)
    {
        var engine = new RecordingBuildEngine();
        var task = new DiffResults
        {
            BuildEngine = engine,
            LockFile = LockFile,
            ArtifactsDirectory = Path.Combine(dir, "artifacts"),
            BaseRevision = baseRevision,
            DiffFile = Path.Combine(dir, "artifacts", "diff.md"),
            CodeFingerprint = "c0de",
        };
        return (task.Execute(), task, engine);
    }

    [Fact]
    public void Execute_OutputDiffersFromLock_TablesOldNewAndDelta()
    {
        Lock(("a", "0.500000"), ("b", "0.250000"));
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.562500", loss: "0.400000");
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "b", "0.250000");

        var (ok, task, _) = Run();

        Assert.True(ok);
        Assert.Equal("""
            | experiment | metric | old (locked) | new (working tree) | delta | 95 % interval | Welch p |
            |---|---|---|---|---|---|---|
            | a | accuracy | 50.00% | 56.25% | +6.25 pp | no spread measured | |
            | a | loss | 0.500000 | 0.400000 | -0.100000 | no spread measured | |

            """.Replace("\r\n", "\n", StringComparison.Ordinal), task.Table);
        // Below the table, the file says why there are no plots: nothing committed under results/ to compare with.
        string diff = File.ReadAllText(Path.Combine(dir, "artifacts", "diff.md"));
        Assert.StartsWith(task.Table, diff);
        Assert.Contains("No results snapshot (results/a.md) at locked: nothing to plot against.", diff);
    }

    [Fact]
    public void Execute_SweepMeanMoved_ShowsDeltaAgainstTheLockedSpread()
    {
        string artifacts = Path.Combine(dir, "locked-artifacts");
        var locked = Enumerable.Range(1, 5).Select(s => RunResult.Read(
            ResultFiles.WriteOutput(artifacts, "s", (0.70 + 0.02 * (s - 1)).ToString("F6", System.Globalization.CultureInfo.InvariantCulture), seed: (ulong)s))!).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        File.WriteAllText(LockFile, ResultsLock.Write([LockEntry.FromRuns(locked, "c0de")]));
        for (int s = 1; s <= 5; s++)
            ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "s", (0.75 + 0.02 * (s - 1)).ToString("F6", System.Globalization.CultureInfo.InvariantCulture), seed: (ulong)s);

        var (ok, task, _) = Run();

        Assert.True(ok);
        // Mean 74.00 % -> 79.00 %: +5 points; standard error 2 points, 8 degrees of freedom: t = 2.5, p = 0.037.
        Assert.Contains("| s | accuracy | 74.00% ± 3.16 pp (n = 5) | 79.00% ± 3.16 pp (n = 5) | +5.00 pp | +0.39 pp to +9.61 pp | 0.037 |", task.Table);
        Assert.DoesNotContain("| s | loss |", task.Table);
    }

    [Fact]
    public void Execute_LockedExperimentWithoutOutputs_IsLeftOut()
    {
        Lock(("a", "0.500000"), ("b", "0.250000"));
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.500000");

        var (ok, task, _) = Run();

        Assert.True(ok);
        Assert.DoesNotContain("| b |", task.Table);
    }

    [Fact]
    public void Execute_NoChanges_SaysSo()
    {
        Lock(("a", "0.500000"));
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.500000");

        var (ok, task, _) = Run();

        Assert.True(ok);
        Assert.Contains("| (no changes) |", task.Table);
    }

    [Fact]
    public void Execute_BaseRevision_ComparesCommittedLockWithWorkingTreeLock()
    {
        Git("init", "-q");
        Lock(("a", "0.500000"));
        Git("add", "-A");
        Git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "lock");
        Lock(("a", "0.437500"), ("c", "0.125000"));

        var (ok, task, engine) = Run(baseRevision: "HEAD");

        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        Assert.Contains("| a | accuracy | 50.00% | 43.75% | -6.25 pp | no spread measured | |", task.Table);
        Assert.Contains("| c | accuracy | — | 12.50% | added | | |", task.Table);
        Assert.StartsWith("| experiment | metric | old (HEAD) | new (working tree) | delta | 95 % interval | Welch p |", task.Table);
    }

    [Fact]
    public void Execute_UnknownRevision_LogsGitError()
    {
        Git("init", "-q");
        Lock(("a", "0.500000"));

        var (ok, _, engine) = Run(baseRevision: "no-such-revision");

        Assert.False(ok);
        Assert.Equal("REPRO320", Assert.Single(engine.Errors).Code);
    }

    private void Git(params string[] args)
    {
        var info = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var git = Process.Start(info)!;
        string error = git.StandardError.ReadToEnd();
        git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.True(git.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
    }
}

public sealed class DiffResultsSnapshotTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-diff-snapshot-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Artifacts => Path.Combine(dir, "artifacts");

    private string LockFile => Path.Combine(dir, "results", "experiments.lock.json");

    [Fact]
    public void Execute_OutputsDifferFromCommittedSnapshot_PerClassDeltasPlotLinksAndPlotItems()
    {
        // The committed side: a lock and results/a.md made from one run; then the run's outputs change by one image.
        string run = ResultSnapshotsTests.WriteRichOutput(Artifacts, "a", seed: null);
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        File.WriteAllText(LockFile, ResultsLock.Write([LockEntry.FromRuns([RunResult.Read(run)!], "c0de")]));
        File.WriteAllText(Path.Combine(dir, "results", "a.md"), ResultSnapshots.From([RunResult.Read(run)!]).Render());
        ResultSnapshotsTests.WriteRichOutput(Artifacts, "a", seed: null, shift: 1, accuracy: "0.500000");
        var task = new DiffResults
        {
            BuildEngine = new RecordingBuildEngine(),
            LockFile = LockFile,
            ArtifactsDirectory = Artifacts,
            DiffFile = Path.Combine(Artifacts, "diff.md"),
            CodeFingerprint = "c0de",
        };

        Assert.True(task.Execute());

        string diff = File.ReadAllText(task.DiffFile);
        Assert.Contains("![a: training curves, locked dashed vs working tree](diff/a/curves.png)", diff);
        Assert.Contains("![a: confusion matrix change, working tree - locked](diff/a/confusion-change.png)", diff);
        Assert.Contains("| b|x | 50.00% | 0.00% | -50.00 pp | 0.500000 | 0.500000 | 0.000000 |", diff);
        Assert.Contains("2 of 3 classes unchanged.", diff);
        var plot = Assert.Single(task.Plots);
        Assert.Equal("a", plot.ItemSpec);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "results", "a.md")), File.ReadAllText(plot.GetMetadata("Base")));
        Assert.Contains("| b\\|x | 2 | 0 | 0.000000 |", File.ReadAllText(plot.GetMetadata("Head")));
        Assert.EndsWith("confusion-change.png\"", plot.GetMetadata("ConfusionArgument"));
    }

    [Fact]
    public void Execute_SnapshotUnchanged_NoSectionAndNoPlots()
    {
        string run = ResultSnapshotsTests.WriteRichOutput(Artifacts, "a", seed: null);
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        File.WriteAllText(LockFile, ResultsLock.Write([LockEntry.FromRuns([RunResult.Read(run)!], "c0de")]));
        File.WriteAllText(Path.Combine(dir, "results", "a.md"), ResultSnapshots.From([RunResult.Read(run)!]).Render());
        var task = new DiffResults
        {
            BuildEngine = new RecordingBuildEngine(),
            LockFile = LockFile,
            ArtifactsDirectory = Artifacts,
            DiffFile = Path.Combine(Artifacts, "diff.md"),
            CodeFingerprint = "c0de",
        };

        Assert.True(task.Execute());

        Assert.Empty(task.Plots);
        Assert.DoesNotContain("## a", File.ReadAllText(task.DiffFile));
    }
}
