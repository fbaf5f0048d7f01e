using Repro.Core.Tests.Engine;

namespace Repro.Core.Tests;

/// <summary>The tutorial-faithful switches as the runner applies them: frozen BatchNorm in training mode, the training transform at test time.</summary>
[Collection(TinyRunCollection.Name)]
public sealed class ExperimentRunnerFaithfulTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Train_FrozenBackboneEpoch_BatchNormStatisticsDriftOnlyWithFrozenBnTrain(bool frozenBnTrain)
    {
        using var tiny = new TinyExperiment("freeze: backbone", "head: linear", "epochs: 1", $"frozen_bn_train: {(frozenBnTrain ? "true" : "false")}");
        var runner = tiny.Runner();
        runner.Split();
        runner.Train();

        using var initial = runner.BuildModel(10);
        using var trained = runner.BuildModel(10);
        trained.Module.load(runner.Layout.Model);
        var before = initial.Module.state_dict();
        var after = trained.Module.state_dict();
        var changed = after.Keys.Where(k => !before[k].allclose(after[k], rtol: 0, atol: 0)).ToList();

        // The backbone's weights never train; only its BatchNorm buffers can move, and only with the switch on.
        Assert.Contains(changed, k => k.StartsWith("fc.", StringComparison.Ordinal));
        Assert.DoesNotContain(changed, k => !k.StartsWith("fc.", StringComparison.Ordinal) && (k.EndsWith(".weight", StringComparison.Ordinal) || k.EndsWith(".bias", StringComparison.Ordinal)));
        var statistics = changed.Where(k => k.EndsWith(".running_mean", StringComparison.Ordinal) || k.EndsWith(".running_var", StringComparison.Ordinal)).ToList();
        if (frozenBnTrain)
        {
            Assert.Contains("bn1.running_mean", statistics);
            Assert.Contains("layer4.2.bn3.running_var", statistics);
            Assert.Contains("frozen backbone left in training mode", File.ReadAllText(runner.Layout.Training));
        }
        else
        {
            Assert.Empty(statistics);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TestPipeline_TestAugment_IsTheTrainingPipelineOnlyWhenOn(bool testAugment)
    {
        using var tiny = new TinyExperiment($"test_augment: {(testAugment ? "true" : "false")}");

        var runner = tiny.Runner();

        Assert.True(runner.TrainPipeline.Augment);
        if (testAugment)
            Assert.Equal(runner.TrainPipeline, runner.TestPipeline);
        else
            Assert.Equal(runner.TrainPipeline with { Augment = false }, runner.TestPipeline);
    }
}
