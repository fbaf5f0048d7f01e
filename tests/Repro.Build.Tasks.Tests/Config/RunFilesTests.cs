namespace Repro.Config.Tests;

public sealed class RunFilesTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-run-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ExperimentSpec Spec() => new(
        "e", 3, new DatasetSpec("d", DatasetKind.OxfordPet, "/data/pets", false, true, 2, [3, 1]), 0.25, 7, [7, 8],
        new ModelSpec(ModelKind.DenseNet121, ModelSpec.ImageNetWeights, HeadKind.Seed, FreezeMode.Backbone, FrozenBatchNormTrains: true),
        new InputSpec(64, true, NormalizationKind.Half, false),
        new TrainingOptions(16, 2, OptimizerKind.AdamW, 0.001, Schedule: ScheduleKind.Cosine),
        new EvaluationOptions(32), new RuntimeOptions(DeviceChoice.Cpu, 2, 2, true, false, true),
        new SlurmOptions("", 0, "", "", 0), ["quick"], "text", "");

    [Fact]
    public void ScheduledRun_JsonRoundTrip_KeepsEverySettingAndFingerprint()
    {
        var run = ScheduledRun.Create("/repo/experiments.yaml", Spec(), 8, "/repo/artifacts");
        string json = run.ToJson();
        string path = Path.Combine(dir, "run.json");
        File.WriteAllText(path, json);

        var read = ScheduledRun.Read(path);

        Assert.Equal(json, read.ToJson());
        Assert.Equal("e/seed-8", read.Name);
        foreach (var stage in new[] { Stage.Split, Stage.Train, Stage.Test })
            Assert.Equal(run.Canonical(stage), read.Canonical(stage));
        // Choices by their experiments.yaml names, keys in snake_case.
        Assert.Contains("\"kind\": \"oxford-pet\"", json);
        Assert.Contains("\"architecture\": \"densenet121\"", json);
        Assert.Contains("\"test_batch\": 32", json);
    }

    [Fact]
    public void Read_Unreadable_NamesTheFile()
    {
        string path = Path.Combine(dir, "run.json");
        File.WriteAllText(path, "{ not json");

        var error = Assert.Throws<InvalidDataException>(() => ScheduledRun.Read(path));

        Assert.StartsWith(path + ": unreadable run stamp", error.Message);
    }
}
