using Repro.Config;
using Repro.Core.Reports;
using Repro.Core.Tests.Engine;

namespace Repro.Core.Tests.Reports;

[Collection(TinyRunCollection.Name)]
public sealed class TensorBoardLogTests(TinyRunFixture reference)
{
    private static List<TensorBoardValue> ReadStage(string runDirectory, string stage)
    {
        var files = Directory.GetFiles(ExperimentLayout.ForRun(runDirectory).TensorBoard, "events.out.tfevents.*." + stage);
        return TensorBoardEvents.Read(Assert.Single(files));
    }

    [Fact]
    public void TinyRun_TrainEventFile_StepAndEpochScalarsForEveryStepAndEpoch()
    {
        // The tiny experiment: 24 training images in batches of 8 (3 steps an epoch), 2 epochs.
        var values = ReadStage(reference.Runner.Layout.Directory, "train");

        var counts = values.Where(v => v.Scalar is not null).GroupBy(v => v.Tag).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(6, counts["step/train_loss"]);
        Assert.Equal(6, counts["step/lr"]);
        foreach (var tag in new[] { "epoch/train_loss", "epoch/train_accuracy", "epoch/validation_loss", "epoch/validation_accuracy", "epoch/lr" })
            Assert.Equal(2, counts[tag]);
        Assert.Equal([0L, 1, 2, 3, 4, 5], values.Where(v => v.Tag == "step/train_loss").Select(v => v.Step));
        Assert.Equal([1L, 2], values.Where(v => v.Tag == "epoch/validation_accuracy").Select(v => v.Step));
        Assert.All(values.Where(v => v.Tag == "step/lr"), v => Assert.Equal(0.001f, v.Scalar));
    }

    [Fact]
    public void TinyRun_TestEventFile_TestScalarsConfusionImageAndSettingsText()
    {
        var values = ReadStage(reference.Runner.Layout.Directory, "test");

        Assert.Equal(["test/accuracy", "test/loss", "test/macro_f1"], values.Where(v => v.Scalar is not null).Select(v => v.Tag).Order());
        Assert.All(values, v => Assert.Equal(2, v.Step));
        Assert.True(Assert.Single(values, v => v.Tag == "test/confusion").IsImage);
        Assert.True(Assert.Single(values, v => v.Tag.StartsWith("hparams", StringComparison.Ordinal)).IsTensor);
    }

    [Fact]
    public void Run_TensorBoardOff_NoEventFilesAndMetricsJsonByteIdentical()
    {
        using var off = new TinyExperiment("tensorboard: false");

        var runner = off.RunAll();

        Assert.False(Directory.Exists(runner.Layout.TensorBoard));
        Assert.Equal(File.ReadAllBytes(reference.Runner.Layout.Metrics), File.ReadAllBytes(runner.Layout.Metrics));
    }
}
