using Repro.Config;

namespace Repro.Build.Tasks.Tests;

public sealed class WriteResultsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-results-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string LockFile => Path.Combine(dir, "results", "experiments.lock.json");

    private string Artifacts => Path.Combine(dir, "artifacts");

    private (bool Ok, RecordingBuildEngine Engine) RunWith(string lockPlatform, params Microsoft.Build.Framework.ITaskItem[] items)
    {
        var engine = new RecordingBuildEngine();
        var task = new WriteResults
        {
            BuildEngine = engine,
            Experiments = items,
            LockFile = LockFile,
            ReportFile = Path.Combine(Artifacts, "results.md"),
            CodeFingerprint = "c0de",
            LockPlatform = lockPlatform,
        };
        return (task.Execute(), engine);
    }

    private (bool Ok, RecordingBuildEngine Engine) Run(params string[] names) =>
        RunWith("", names.Select(n => ResultFiles.Item(Artifacts, n)).ToArray());

    /// <summary>
    /// A sweep of seeds 1..n of experiment "s" on <paramref name="platform"/>, accuracies 0.70, 0.72, …; with
    /// <paramref name="of"/>, the first n seeds of a sweep of that many (-p:ReproLockSeeds=n).
    /// </summary>
    private Microsoft.Build.Framework.ITaskItem[] Sweep(int n, string platform = "p1", double offset = 0, int? of = null)
    {
        ulong[] sweep = [.. Enumerable.Range(1, of ?? n).Select(s => (ulong)s)];
        for (int s = 1; s <= n; s++)
            ResultFiles.WriteOutput(Artifacts, "s", (0.70 + 0.02 * (s - 1) + offset).ToString("F6", System.Globalization.CultureInfo.InvariantCulture), platform: platform, seed: (ulong)s, sweep: sweep);
        return Enumerable.Range(1, n).Select(s => (Microsoft.Build.Framework.ITaskItem)ResultFiles.Item(Artifacts, "s", (ulong)s)).ToArray();
    }

    [Fact]
    public void Execute_TwoExperiments_LocksMetricsFingerprintsAndPlatformDeterministically()
    {
        ResultFiles.WriteOutput(Artifacts, "b", "0.250000");
        ResultFiles.WriteOutput(Artifacts, "a", "0.500000", tutorial: "flower-resnet50");

        Assert.True(Run("b", "a").Ok);

        string text = File.ReadAllText(LockFile);
        Assert.True(text.IndexOf("\"a\": {", StringComparison.Ordinal) < text.IndexOf("\"b\": {", StringComparison.Ordinal), "sorted by name");
        Assert.Contains("\"accuracy\": 0.500000", text);
        Assert.Contains("\"code\": \"c0de\"", text);
        Assert.Contains("\"data\": \"fedcba9876543210\"", text);
        Assert.Contains("\"cpu_brand\": \"Test CPU p1\"", text);
        Assert.DoesNotContain("61.4", text); // timings vary between runs: never locked
        var lockedA = ResultsLock.Read(text)["a"];
        Assert.Equal("p1", lockedA.Reference);
        Assert.Equal("0.500000", lockedA.Platforms["p1"].Seeds[1]["accuracy"]);
        Assert.Equal(16, lockedA.Seeds[1]["train"].Length);
    }

    [Fact]
    public void Execute_ExperimentNotSelected_KeepsItsPreviousEntry()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.500000", tutorial: "flower-resnet50");
        ResultFiles.WriteOutput(Artifacts, "b", "0.250000");
        Run("a", "b");
        ResultFiles.WriteOutput(Artifacts, "a", "0.750000", tutorial: "flower-resnet50");
        Directory.Delete(Path.Combine(Artifacts, "experiments", "b"), recursive: true);

        Assert.True(Run("a").Ok);

        var locked = ResultsLock.Read(File.ReadAllText(LockFile));
        Assert.Equal("0.750000", locked["a"].Platforms["p1"].Seeds[1]["accuracy"]);
        Assert.Equal("0.250000", locked["b"].Platforms["p1"].Seeds[1]["accuracy"]);
    }

    [Fact]
    public void Execute_NothingChanged_LeavesLockFileTimestamp()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.500000", tutorial: "flower-resnet50");
        Run("a");
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(LockFile, past);

        Assert.True(Run("a").Ok);

        Assert.Equal(past, File.GetLastWriteTimeUtc(LockFile));
    }

    [Fact]
    public void Execute_TutorialExperiment_TableShowsTutorialFigureAndTrainTime()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.912345", tutorial: "flower-resnet50");

        Assert.True(Run("a").Ok);

        string table = File.ReadAllText(Path.Combine(Artifacts, "results.md"));
        Assert.Contains("| a | tiny | resnet50 | no | no | 1 | 91.23% |  | 0.5000 | 0.4000 | 90.11% | 2 | 00:01:01 |", table);
    }

    [Fact]
    public void Execute_RunSkippedImages_TableUnchangedAndSkippedSectionListsFirstFiles()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.912345", tutorial: "flower-resnet50");
        ResultFiles.WriteOutput(Artifacts, "b", "0.500000");
        string metrics = Path.Combine(Artifacts, "experiments", "b", "metrics.json");
        File.WriteAllText(metrics, File.ReadAllText(metrics).Replace("\"epochs\": 2,",
            "\"skipped\": {\"count\": 4, \"files\": [\"a/1.jpg\", \"a/2.png\", \"b/3.jpg\", \"b/4.jpg\"]},\n  \"epochs\": 2,", StringComparison.Ordinal));

        Assert.True(Run("a", "b").Ok);

        string table = File.ReadAllText(Path.Combine(Artifacts, "results.md"));
        Assert.Contains("| a | tiny | resnet50 | no | no | 1 | 91.23% |  | 0.5000 | 0.4000 | 90.11% | 2 | 00:01:01 |", table);
        Assert.Contains("| b | tiny | resnet50 | no | no | 1 | 50.00% |  | 0.5000 | 0.4000 |  | 2 | 00:01:01 |", table);
        Assert.Contains("## Skipped images", table);
        Assert.Contains("- b: 4 unreadable images skipped: a/1.jpg, a/2.png, b/3.jpg and 1 more\n", table);
        Assert.DoesNotContain("- a:", table);
    }

    [Fact]
    public void Execute_NoRunSkippedImages_NoSkippedSection()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.912345", tutorial: "flower-resnet50");

        Assert.True(Run("a").Ok);

        Assert.DoesNotContain("Skipped", File.ReadAllText(Path.Combine(Artifacts, "results.md")));
    }

    [Fact]
    public void Execute_MetricsMissing_LogsErrorNamingExperiment()
    {
        Directory.CreateDirectory(Path.Combine(Artifacts, "experiments", "a"));

        var (ok, engine) = Run("a");

        Assert.False(ok);
        Assert.Contains("experiment 'a' has no complete result", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void Execute_Sweep_LocksEverySeedWithSummaryAndWritesSpreadReport()
    {
        Assert.True(RunWith("", Sweep(5)).Ok);

        var entry = ResultsLock.Read(File.ReadAllText(LockFile))["s"];
        Assert.Equal([1UL, 2, 3, 4, 5], entry.Seeds.Keys.ToArray());
        var accuracy = entry.Platforms["p1"].Statistics(Metric.Accuracy);
        Assert.Equal(0.74, accuracy.Mean, 9);
        Assert.Equal(0.0316228, accuracy.Std, 6); // sample std of 0.70, 0.72, …, 0.78
        string text = File.ReadAllText(LockFile);
        Assert.Contains("\"ci95_low\": 0.700735", text); // 0.74 - t(0.975, 4) * 0.0316228 / sqrt(5)
        string report = File.ReadAllText(Path.Combine(Artifacts, "experiments", "s", "report.md"));
        Assert.Contains("| accuracy | 74.00% ± 3.16 pp | 70.07% – 77.93% | 70.00% | 78.00% |", report);
        Assert.Contains("| 3 | 74.00% | 0.5000 | 0.4000 | [seed-3/report.md](seed-3/report.md) |", report);
        string table = File.ReadAllText(Path.Combine(Artifacts, "results.md"));
        Assert.Contains("| s | tiny | resnet50 | no | no | 5 | 74.00% ± 3.16 pp | 70.07% – 77.93% |", table);
        Assert.Contains("| s | 5 | 78.00% | 0.5000 | 0.4000 |", table);
    }

    [Fact]
    public void Execute_ForeignPlatformSameSettings_LeavesLockUnlessAdded()
    {
        RunWith("", Sweep(3, "p1"));
        string before = File.ReadAllText(LockFile);

        var (ok, engine) = RunWith("", Sweep(3, "p2", offset: 0.01));

        Assert.True(ok);
        Assert.Equal(before, File.ReadAllText(LockFile));
        Assert.Contains(engine.Messages, m => m.Message!.Contains("platform p2 is not in", StringComparison.Ordinal) && m.Message.Contains("-p:ReproLockPlatform=add", StringComparison.Ordinal));

        Assert.True(RunWith("add", Sweep(3, "p2", offset: 0.01)).Ok);

        var entry = ResultsLock.Read(File.ReadAllText(LockFile))["s"];
        Assert.Equal(["p1", "p2"], entry.Platforms.Keys.ToArray());
        Assert.Equal("p1", entry.Reference);
        Assert.Equal("0.710000", entry.Platforms["p2"].Seeds[1]["accuracy"]);
    }

    [Fact]
    public void Execute_SettingsChangedOnForeignPlatform_ReplacesEntryWithThisPlatform()
    {
        RunWith("", Sweep(3, "p1"));
        RunWith("add", Sweep(3, "p2"));

        Assert.True(RunWith("", Sweep(4, "p2")).Ok); // a fourth seed: the seed set changed, older numbers no longer describe it

        var entry = ResultsLock.Read(File.ReadAllText(LockFile))["s"];
        Assert.Equal(["p2"], entry.Platforms.Keys.ToArray());
        Assert.Equal("p2", entry.Reference);
        Assert.Equal(4, entry.Platforms["p2"].Seeds.Count);
    }

    [Fact]
    public void Execute_FirstSeedOfSweepOnNewPlatform_JoinsEntryKeepingEverySeedAndSnapshot()
    {
        RunWith("", Sweep(5, "p1"));
        string snapshot = File.ReadAllText(Path.Combine(dir, "results", "s.md"));

        var (ok, engine) = RunWith("add", Sweep(1, "p2", offset: 0.01, of: 5));

        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        var entry = ResultsLock.Read(File.ReadAllText(LockFile))["s"];
        Assert.Equal([1UL, 2, 3, 4, 5], entry.Seeds.Keys.ToArray());
        Assert.Equal(5, entry.Platforms["p1"].Seeds.Count);
        Assert.Equal("0.710000", Assert.Single(entry.Platforms["p2"].Seeds).Value["accuracy"]);
        Assert.Equal("p1", entry.Reference);
        Assert.Equal(snapshot, File.ReadAllText(Path.Combine(dir, "results", "s.md")));
        Assert.Contains(engine.Messages, m => m.Message!.Contains("recorded platform p2 beside p1 (seeds 1 of 5)", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_FirstSeedsOnLockedPlatform_UpdatesThoseSeedsKeepingTheOthers()
    {
        RunWith("", Sweep(5, "p1"));

        Assert.True(RunWith("", Sweep(2, "p1", offset: 0.05, of: 5)).Ok);

        var p1 = ResultsLock.Read(File.ReadAllText(LockFile))["s"].Platforms["p1"];
        Assert.Equal(["0.750000", "0.770000", "0.740000", "0.760000", "0.780000"], p1.Seeds.Values.Select(m => m["accuracy"]).ToArray());
    }

    [Fact]
    public void Execute_FirstSeedOfSweepNotInLock_FailsAndWritesNoLock()
    {
        var (ok, engine) = RunWith("add", Sweep(1, "p1", of: 5));

        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal(ErrorCodes.PartNotLockable, error.Code);
        Assert.Equal(LockFile, error.File);
        Assert.Contains("only 1 of its 5 seeds ran (-p:ReproLockSeeds), and experiments.lock.json has no entry for it", error.Message);
        Assert.False(File.Exists(LockFile));
    }

    [Fact]
    public void Execute_FirstSeedWithOtherCode_RecordedBesideAndSaysSo()
    {
        RunWith("", Sweep(5, "p1"));
        var engine = new RecordingBuildEngine();
        var task = new WriteResults { BuildEngine = engine, Experiments = Sweep(1, "p2", of: 5), LockFile = LockFile, ReportFile = Path.Combine(Artifacts, "results.md"), CodeFingerprint = "c0de2", LockPlatform = "add" };

        Assert.True(task.Execute());

        var entry = ResultsLock.Read(File.ReadAllText(LockFile))["s"];
        Assert.Equal("c0de", entry.Code);
        Assert.Equal(["p1", "p2"], entry.Platforms.Keys.ToArray());
        Assert.Contains(engine.Messages, m => m.Message!.Contains("s: locked with code c0de, these runs with code c0de2: recorded beside it", StringComparison.Ordinal));
    }

    [Fact]
    public void Execute_FirstSeedWithOtherSettings_FailsAndLeavesLockUnchanged()
    {
        RunWith("", Sweep(5, "p1"));
        string before = File.ReadAllText(LockFile);
        ResultFiles.WriteOutput(Artifacts, "s", "0.700000", model: "densenet121", platform: "p2", seed: 1, sweep: [1, 2, 3, 4, 5]);

        var (ok, engine) = RunWith("add", ResultFiles.Item(Artifacts, "s", 1));

        Assert.False(ok);
        Assert.Contains("holds it with other settings, data or seed fingerprints", Assert.Single(engine.Errors).Message);
        Assert.Equal(before, File.ReadAllText(LockFile));
    }

    [Fact]
    public void Execute_UnknownLockPlatformValue_FailsNamingTheProperty()
    {
        ResultFiles.WriteOutput(Artifacts, "a", "0.500000", tutorial: "flower-resnet50");

        var (ok, engine) = RunWith("replace", ResultFiles.Item(Artifacts, "a"));

        Assert.False(ok);
        Assert.Contains("-p:ReproLockPlatform", Assert.Single(engine.Errors).Message);
    }

    [Fact]
    public void Execute_SweepRanThenUpToDate_WritesSnapshotBesideLockOnceAndSummaryTable()
    {
        var items = new ulong[] { 1, 2 }.Select(seed =>
        {
            ResultSnapshotsTests.WriteRichOutput(Artifacts, "s", seed, accuracy: seed == 1 ? "0.666667" : "0.833333");
            return (Microsoft.Build.Framework.ITaskItem)ResultFiles.Item(Artifacts, "s", seed);
        }).ToArray();
        var engine = new RecordingBuildEngine();
        var task = new WriteResults { BuildEngine = engine, Experiments = items, LockFile = LockFile, ReportFile = Path.Combine(Artifacts, "results.md"), CodeFingerprint = "c0de", Ran = [items[1]] };

        Assert.True(task.Execute());

        string snapshot = Path.Combine(dir, "results", "s.md");
        Assert.Contains("| mean ± std | 0.750000 ± 0.117851 |", File.ReadAllText(snapshot));
        var messages = engine.Messages.Select(m => m.Message).ToList();
        Assert.Contains("Repro: experiment  test accuracy      Δ vs lock  status", messages);
        Assert.Contains("Repro: s           75.00% ± 11.79 pp  new        ran", messages);

        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(snapshot, past);
        var again = new RecordingBuildEngine();
        Assert.True(new WriteResults { BuildEngine = again, Experiments = items, LockFile = LockFile, ReportFile = Path.Combine(Artifacts, "results.md"), CodeFingerprint = "c0de" }.Execute());
        Assert.Equal(past, File.GetLastWriteTimeUtc(snapshot));
        Assert.Contains("Repro: s           75.00% ± 11.79 pp  0.00 pp    up to date", again.Messages.Select(m => m.Message));
    }
}
