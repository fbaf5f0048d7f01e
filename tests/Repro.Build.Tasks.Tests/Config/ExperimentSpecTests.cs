namespace Repro.Config.Tests;

public sealed class ExperimentSpecTests
{
    private static ExperimentSpec Spec(int epochs, ScheduleKind schedule) => new(
        "e", 3, new DatasetSpec("d", DatasetKind.Idx, "/data/fashion", false, false, 2), null, 1, null,
        new ModelSpec(ModelKind.ResNet50, null, HeadKind.Linear, FreezeMode.None),
        new InputSpec(32, false, NormalizationKind.ImageNet, true),
        new TrainingOptions(64, epochs, OptimizerKind.Adam, 0.001, Schedule: schedule, WarmupEpochs: 1),
        new EvaluationOptions(128), new RuntimeOptions(DeviceChoice.Cpu, 2, 2, true, false, true),
        new SlurmOptions("", 0, "", "", 0), [], "", "");

    [Theory]
    [InlineData(ScheduleKind.Constant)]
    [InlineData(ScheduleKind.Step)]
    public void CheckpointFingerprint_OnlyEpochsChangedUnderAScheduleByStep_Same(ScheduleKind schedule)
    {
        Assert.Equal(Spec(2, schedule).CheckpointFingerprint("/repo"), Spec(5, schedule).CheckpointFingerprint("/repo"));
        Assert.NotEqual(Spec(2, schedule).Fingerprint(Stage.Train, "/repo"), Spec(5, schedule).Fingerprint(Stage.Train, "/repo"));
    }

    [Fact]
    public void CheckpointFingerprint_EpochsChangedUnderCosine_DiffersSinceEveryRateMoves()
    {
        Assert.NotEqual(Spec(2, ScheduleKind.Cosine).CheckpointFingerprint("/repo"), Spec(5, ScheduleKind.Cosine).CheckpointFingerprint("/repo"));
    }

    [Fact]
    public void CheckpointFingerprint_AnotherSettingChanged_Differs()
    {
        var spec = Spec(2, ScheduleKind.Constant);

        Assert.NotEqual(spec.CheckpointFingerprint("/repo"), (spec with { Training = spec.Training with { LearningRate = 0.002 } }).CheckpointFingerprint("/repo"));
    }
}
