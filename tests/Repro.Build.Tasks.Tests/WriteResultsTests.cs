using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks.Tests;

public sealed class WriteResultsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-results-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string LockFile => Path.Combine(dir, "results", "experiments.lock.json");

    private (bool Ok, RecordingBuildEngine Engine) Run(params string[] names)
    {
        var engine = new RecordingBuildEngine();
        var task = new WriteResults
        {
            BuildEngine = engine,
            Experiments = names.Select(n =>
            {
                var item = new TaskItem(n);
                item.SetMetadata("OutputDirectory", Path.Combine(dir, "artifacts", "experiments", n) + Path.DirectorySeparatorChar);
                item.SetMetadata("Tutorial", n == "a" ? "flower-resnet50" : "");
                return item;
            }).ToArray(),
            LockFile = LockFile,
            ReportFile = Path.Combine(dir, "artifacts", "results.md"),
            CodeFingerprint = "c0de",
        };
        return (task.Execute(), engine);
    }

    [Fact]
    public void Execute_TwoExperiments_LocksMetricsAndFingerprintsDeterministically()
    {
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "b", "0.250000");
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.500000");

        Assert.True(Run("b", "a").Ok);

        string text = File.ReadAllText(LockFile);
        Assert.True(text.IndexOf("\"a\": {", StringComparison.Ordinal) < text.IndexOf("\"b\": {", StringComparison.Ordinal), "sorted by name");
        Assert.Contains("\"accuracy\": 0.500000", text);
        Assert.Contains("\"code\": \"c0de\"", text);
        Assert.Contains("\"data\": \"fedcba9876543210\"", text);
        Assert.DoesNotContain("61.4", text); // timings vary between runs: never locked
        var lockedA = ExperimentResult.ReadLock(text)["a"];
        Assert.Equal("0.500000", lockedA.Metrics["accuracy"]);
        Assert.Equal(16, lockedA.Fingerprints["train"].Length);
    }

    [Fact]
    public void Execute_ExperimentNotSelected_KeepsItsPreviousEntry()
    {
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.500000");
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "b", "0.250000");
        Run("a", "b");
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.750000");
        Directory.Delete(Path.Combine(dir, "artifacts", "experiments", "b"), recursive: true);

        Assert.True(Run("a").Ok);

        var locked = ExperimentResult.ReadLock(File.ReadAllText(LockFile));
        Assert.Equal("0.750000", locked["a"].Metrics["accuracy"]);
        Assert.Equal("0.250000", locked["b"].Metrics["accuracy"]);
    }

    [Fact]
    public void Execute_NothingChanged_LeavesLockFileTimestamp()
    {
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.500000");
        Run("a");
        var past = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(LockFile, past);

        Assert.True(Run("a").Ok);

        Assert.Equal(past, File.GetLastWriteTimeUtc(LockFile));
    }

    [Fact]
    public void Execute_TutorialExperiment_TableShowsTutorialFigureAndTrainTime()
    {
        ResultFiles.WriteOutput(Path.Combine(dir, "artifacts"), "a", "0.912345");

        Assert.True(Run("a").Ok);

        string table = File.ReadAllText(Path.Combine(dir, "artifacts", "results.md"));
        Assert.Contains("| a | tiny | resnet50 | no | no | 91.23% | 90.11% | 2 | 00:01:01 |", table);
    }

    [Fact]
    public void Execute_MetricsMissing_LogsErrorNamingExperiment()
    {
        Directory.CreateDirectory(Path.Combine(dir, "artifacts", "experiments", "a"));

        var (ok, engine) = Run("a");

        Assert.False(ok);
        Assert.Contains("experiment 'a' has no complete result", Assert.Single(engine.Errors).Message);
    }
}
