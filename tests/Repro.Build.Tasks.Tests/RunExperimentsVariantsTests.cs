namespace Repro.Build.Tasks.Tests;

/// <summary>
/// A tiny experiments.yaml (IDX data, ResNet50 at 16x16, one epoch, one thread) whose experiment 'a' is built once as
/// the variant <c>-p:Set="lr=0.002;epochs=2"</c>, then built again with the same command.
/// </summary>
public sealed class VariantBuildFixture : IDisposable
{
    public const string Set = "Set=\"lr=0.002;epochs=2\"";

    public const string Variant = "a@epochs=2,lr=0.002";

    public VariantBuildFixture()
    {
        TinyIdxDataset.Write(Path.Combine(Directory, "tiny"));
        File.WriteAllText(ConfigFile, """
            datasets:
              tiny: {kind: idx, root: tiny}
            defaults: {model: resnet50, crop: 16, augment: false, batch: 16, test_batch: 16, epochs: 1, threads: 1, loader_threads: 1, tensorboard: false}
            experiments:
              - {name: a, dataset: tiny}
              - {name: s, dataset: tiny, seeds: [1, 2]}
            """);
        First = ExperimentBuild.Run(ConfigFile, "RunExperiments", "Experiment=a", Set);
        Again = ExperimentBuild.Run(ConfigFile, "RunExperiments", "Experiment=a", Set);
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("repro-variant-").FullName;

    public string ConfigFile => Path.Combine(Directory, "experiments.yaml");

    public string LockFile => Path.Combine(Directory, "results", "experiments.lock.json");

    public string ExperimentDirectory(string name) => Path.Combine(Directory, "artifacts", "experiments", name);

    /// <summary>The first build of the variant.</summary>
    public ExperimentBuild.Result First { get; }

    /// <summary>The same command once more.</summary>
    public ExperimentBuild.Result Again { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition("variant builds", DisableParallelization = true)]
public sealed class VariantBuildCollection : ICollectionFixture<VariantBuildFixture>;

[Collection("variant builds")]
public sealed class RunExperimentsVariantsTests(VariantBuildFixture fixture)
{
    private static void Succeeded(ExperimentBuild.Result result) => Assert.True(result.ExitCode == 0, result.Log);

    [Fact]
    public void RunExperiments_Set_RunsTheVariantInItsOwnFolderAndLeavesTheLock()
    {
        Succeeded(fixture.First);
        string v = VariantBuildFixture.Variant;
        Assert.Equal([$"{v}:split", $"{v}:test", $"{v}:train"], fixture.First.Ran);
        Assert.True(File.Exists(Path.Combine(fixture.ExperimentDirectory(v), "metrics.json")));
        Assert.False(System.IO.Directory.Exists(fixture.ExperimentDirectory("a")), "the parent itself was not asked for");
        Assert.Contains("\"epochs\": 2", File.ReadAllText(Path.Combine(fixture.ExperimentDirectory(v), "stamps", "train.json")));
        Assert.DoesNotContain(v, File.Exists(fixture.LockFile) ? File.ReadAllText(fixture.LockFile) : "");
        Assert.False(File.Exists(Path.Combine(fixture.Directory, "results", v + ".md")));
        Assert.Matches($@"Repro: {v.Replace(".", "\\.", StringComparison.Ordinal)}\s+\d+\.\d\d%\s+new\s+ran", fixture.First.Log);
    }

    [Fact]
    public void RunExperiments_SameSetAgain_RunsNothing()
    {
        Succeeded(fixture.Again);
        Assert.Empty(fixture.Again.Ran);
        Assert.Equal([VariantBuildFixture.Variant], fixture.Again.UpToDate);
    }

    [Fact]
    public void RunExperiments_BadSetValue_ErrorAtTheCommandLineAndNothingRuns()
    {
        var result = ExperimentBuild.Run(fixture.ConfigFile, "RunExperiments", "Experiment=a", "Set=\"epochs=2;lr=20\"");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("-p:Set(1,13): Repro error REPRO123: 'lr' must be between 0 and 10, not 20", result.Log);
        Assert.Empty(result.Ran);
    }

    [Fact]
    public void RunExperiments_SetOnASweepWithLockVariants_RunsEverySeedAndLocksTheVariant()
    {
        var result = ExperimentBuild.Run(fixture.ConfigFile, "RunExperiments", "Experiment=s", "Set=epochs=2", "ReproLockVariants=true");

        Succeeded(result);
        Assert.Equal(["s@epochs=2/seed-1:split", "s@epochs=2/seed-1:test", "s@epochs=2/seed-1:train",
            "s@epochs=2/seed-2:split", "s@epochs=2/seed-2:test", "s@epochs=2/seed-2:train"], result.Ran);
        Assert.True(File.Exists(Path.Combine(fixture.ExperimentDirectory("s@epochs=2"), "report.md")), "the sweep's report over its seeds");
        Assert.Contains("\"s@epochs=2\"", File.ReadAllText(fixture.LockFile));
        Assert.Matches(@"Repro: s@epochs=2\s+\d+\.\d\d% ± \d+\.\d\d", result.Log);
    }
}
