using System.Security.Cryptography;
using Repro.Build.Tasks.Tests;

namespace Repro.Config.Tests;

public sealed class RunResultTests : IDisposable
{
    private readonly string artifacts = Path.Combine(Directory.CreateTempSubdirectory("repro-run-result-").FullName, "artifacts");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(artifacts)!, recursive: true);

    [Fact]
    public void Read_FinishedSweepSeed_SeedPlatformMetricsAndSettingsFromItsFiles()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "s", "0.750000", platform: "p9", seed: 4, tutorial: "flower-resnet50");

        var run = RunResult.Read(dir)!;

        Assert.Equal(("s", 4UL, "p9"), (run.Name, run.Seed, run.Platform.Id));
        Assert.Equal("s/seed-4", run.Run.Name);
        Assert.Equal(0.75, run.Value(Metric.Accuracy));
        Assert.Equal("0.750000", run.Raw(Metric.Accuracy));
        Assert.Equal(["accuracy", "loss", "macro_f1", "correct", "images"], run.RawMetrics.Keys);
        Assert.Equal(("tiny", "resnet50", "", "none", "cpu"), (run.Dataset, run.Model, run.Pretrained, run.Freeze, run.DeviceSetting));
        Assert.Equal(61.4, run.TrainSeconds);
    }

    [Fact]
    public void StageFingerprints_EqualTheHashesOfTheStampFilesTheBuildWrote()
    {
        // One owner: the stamps hold ScheduledRun.Canonical, so the result's fingerprints are those of the stamp files.
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");

        var run = RunResult.Read(dir)!;

        foreach (var (stage, file) in new[] { ("split", run.Run.Layout.SplitStamp), ("train", run.Run.Layout.TrainStamp), ("test", run.Run.Layout.TestStamp) })
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))[..16], run.StageFingerprints[stage]);
    }

    [Fact]
    public void Read_NoMetrics_Null()
    {
        string dir = Path.Combine(artifacts, "experiments", "a");
        Directory.CreateDirectory(dir);

        Assert.Null(RunResult.Read(dir));
    }

    [Fact]
    public void Read_MetricsWithoutRunStamp_InvalidDataNamingTheStamp()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        File.Delete(Path.Combine(dir, "stamps", "run.json"));

        var error = Assert.Throws<InvalidDataException>(() => RunResult.Read(dir));

        Assert.Contains(Path.Combine(dir, "stamps", "run.json"), error.Message);
    }

    [Fact]
    public void Read_RunFolderMoved_LayoutFollowsTheFiles()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        string moved = Path.Combine(Path.GetDirectoryName(artifacts)!, "scratch", "experiments", "a");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        Directory.Move(dir, moved);

        var run = RunResult.Read(moved)!;

        Assert.Equal(Path.GetFullPath(moved), run.Run.Layout.Directory);
    }
}
