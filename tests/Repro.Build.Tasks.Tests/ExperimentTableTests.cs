using Repro.Config;

namespace Repro.Build.Tasks.Tests;

public sealed class ExperimentTableTests : IDisposable
{
    private readonly string artifacts = Path.Combine(Directory.CreateTempSubdirectory("repro-table-").FullName, "artifacts");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(artifacts)!, recursive: true);

    private static readonly string[] NoTools = [];

    [Fact]
    public void Status_EveryOutputNewerThanItsInputs_UpToDate()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        var run = RunResult.Read(dir)!.Run;
        Finish(run);

        Assert.Equal("up to date", ExperimentTable.Status(run, NoTools));
    }

    [Fact]
    public void Status_TrainSettingsChanged_StaleFromTrain()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        var run = RunResult.Read(dir)!.Run;
        Finish(run);

        var changed = run with { Spec = run.Spec with { Training = run.Spec.Training with { LearningRate = 0.01 } } };

        Assert.Equal("stale from train", ExperimentTable.Status(changed, NoTools));
    }

    [Fact]
    public void Status_ToolsRebuiltAfterTheRun_StaleFromSplit()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        var run = RunResult.Read(dir)!.Run;
        Finish(run);
        string tool = Path.Combine(Path.GetDirectoryName(artifacts)!, "Repro.Core.dll");
        File.WriteAllText(tool, "");
        File.SetLastWriteTimeUtc(tool, DateTime.UtcNow.AddMinutes(1));

        Assert.Equal("stale from split", ExperimentTable.Status(run, [tool]));
    }

    [Fact]
    public void Status_FailureMarker_FailedNamingTheStage()
    {
        string dir = ResultFiles.WriteOutput(artifacts, "a", "0.5");
        var run = RunResult.Read(dir)!.Run;
        File.WriteAllText(run.Layout.Failure, "train\nexperiment 'a' failed in stage 'train' (exit code 1)\n");

        Assert.Equal("failed (train)", ExperimentTable.Status(run, NoTools));
    }

    [Fact]
    public void Status_NoFolder_NeverRun() =>
        Assert.Equal("never run", ExperimentTable.Status(ResultFiles.Scheduled(artifacts, "nothing"), NoTools));

    [Fact]
    public void DifferingKeys_OnlyKeysWhoseValuesDiffer()
    {
        var a = new Dictionary<string, string> { ["model"] = "resnet50", ["lr"] = "0.001", ["crop"] = "32" };
        var b = new Dictionary<string, string> { ["model"] = "densenet121", ["lr"] = "0.001", ["crop"] = "32" };

        Assert.Equal(["model"], ExperimentTable.DifferingKeys([a, b]));
    }

    [Fact]
    public void Sorted_ByLoss_LowestFirstAndRowsWithoutResultsLast()
    {
        var rows = Rows(("high", "0.5", "0.900000"), ("low", "0.5", "0.100000"));

        Assert.Equal(["low", "high", "none"], ExperimentTable.Sorted(rows, "loss").Select(r => r.Name));
    }

    [Fact]
    public void Sorted_ByAccuracy_HighestFirst()
    {
        var rows = Rows(("worse", "0.600000", "0.5"), ("better", "0.800000", "0.5"));

        Assert.Equal(["better", "worse", "none"], ExperimentTable.Sorted(rows, "accuracy").Select(r => r.Name));
    }

    /// <summary>One row per (name, accuracy, loss) with a finished run, and a row "none" that never ran.</summary>
    private List<ExperimentRow> Rows(params (string Name, string Accuracy, string Loss)[] runs) =>
        [.. runs.Select(p => RunResult.Read(ResultFiles.WriteOutput(artifacts, p.Name, p.Accuracy, loss: p.Loss))!)
            .Select(r => new ExperimentRow(r.Name, r.Spec, true, [r], "up to date", ""))
            .Append(new ExperimentRow("none", ResultFiles.Scheduled(artifacts, "none").Spec, true, [], "never run", ""))];

    /// <summary>Makes the run's files look as the stages leave them: current stamps and data listing, outputs written after.</summary>
    private static void Finish(ScheduledRun run)
    {
        var layout = run.Layout;
        Directory.CreateDirectory(layout.Stamps);
        foreach (var stage in RunResult.StampedStages)
            File.WriteAllText(layout.StageStamp(stage), run.Canonical(stage));
        File.WriteAllText(layout.DataStamp, ReadExperiments.DataListing(run.Spec.Dataset.Root));
        var past = DateTime.UtcNow.AddMinutes(-10);
        foreach (var stamp in new[] { layout.SplitStamp, layout.TrainStamp, layout.TestStamp, layout.DataStamp })
            File.SetLastWriteTimeUtc(stamp, past);
        File.WriteAllText(layout.SplitManifest, "path\tlabel\n");
        File.SetLastWriteTimeUtc(layout.SplitManifest, past.AddMinutes(1));
        File.SetLastWriteTimeUtc(layout.Training, past.AddMinutes(2));
        File.SetLastWriteTimeUtc(layout.Metrics, past.AddMinutes(3));
    }
}
