using System.Text;

namespace Repro.Build.Tasks.Tests;

/// <summary>
/// A temporary experiments.yaml (tiny IDX data, ResNet50 at 16x16, one epoch) built once with every stage;
/// each test then applies its edit on top of the edits before it and builds, so every test starts from a build
/// where everything is up to date, whatever the order the tests run in.
/// </summary>
public sealed class ExperimentBuildFixture : IDisposable
{
    private readonly SortedDictionary<string, string> edits = new(StringComparer.Ordinal);

    public ExperimentBuildFixture()
    {
        TinyIdxDataset.Write(Path.Combine(Directory, "tiny"));
        string corrupt = Path.Combine(Directory, "corrupt");
        TinyIdxDataset.Write(corrupt);
        // A wrong magic number: the reader must reject the file.
        File.WriteAllBytes(Path.Combine(corrupt, "train-images-idx3-ubyte"), Encoding.ASCII.GetBytes("not an IDX file"));
        WriteConfig();
        Initial = ExperimentBuild.Run(ConfigFile, "RunExperiments", "Experiment=t");
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("repro-build-").FullName;

    public string ConfigFile => Path.Combine(Directory, "experiments.yaml");

    public string LockFile => Path.Combine(Directory, "results", "experiments.lock.json");

    public string Output(string experiment, string file) => Path.Combine(Directory, "artifacts", "experiments", experiment, file);

    /// <summary>The first build, of everything tagged 't'.</summary>
    public ExperimentBuild.Result Initial { get; }

    /// <summary>The seeds of sweep 's' (not tagged 't', so only tests that select it run it).</summary>
    public string SweepSeeds { get; set; } = "[1, 2]";

    /// <summary>Sets a key of experiment 'a' for this and every later build (tests' edits accumulate).</summary>
    public void Edit(string key, string value)
    {
        edits[key] = value;
        WriteConfig();
    }

    /// <summary>
    /// Writes experiments.yaml from the edits so far; <paramref name="reshuffled"/> adds comments and reverses
    /// every mapping's key order, which must change no stage's settings.
    /// </summary>
    public void WriteConfig(bool reshuffled = false)
    {
        var datasets = new[] { ("tiny", new[] { "kind: idx", "root: tiny" }), ("corrupt", new[] { "kind: idx", "root: corrupt" }) };
        string[] defaults = ["model: resnet50", "crop: 16", "augment: false", "batch: 16", "test_batch: 16", "epochs: 1", "threads: 1", "loader_threads: 1"];
        var experiments = new[]
        {
            new[] { "name: a", "tags: [t]", "dataset: tiny" }.Concat(edits.Select(e => $"{e.Key}: {e.Value}")).ToArray(),
            ["name: b", "tags: [t]", "dataset: tiny", "seed: 2"],
            ["name: broken", "dataset: corrupt"],
            ["name: s", "dataset: tiny", $"seeds: {SweepSeeds}"],
        };
        IEnumerable<T> Order<T>(IEnumerable<T> items) => reshuffled ? items.Reverse() : items;
        string comment = reshuffled ? "   # a comment" : "";

        var yaml = new StringBuilder();
        if (reshuffled)
            yaml.Append("# Reshuffled: comments added and keys reordered.\n");
        yaml.Append("datasets:\n");
        foreach (var (name, keys) in Order(datasets))
            yaml.Append($"  {name}:{comment}\n").Append(string.Concat(Order(keys).Select(k => $"    {k}\n")));
        yaml.Append("defaults:\n").Append(string.Concat(Order(defaults).Select(k => $"  {k}{comment}\n")));
        yaml.Append("experiments:\n");
        foreach (var keys in Order(experiments))
        {
            var ordered = Order(keys).ToArray();
            yaml.Append($"  - {ordered[0]}\n").Append(string.Concat(ordered.Skip(1).Select(k => $"    {k}{comment}\n")));
        }
        File.WriteAllText(ConfigFile, yaml.ToString());
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition("experiment builds", DisableParallelization = true)]
public sealed class ExperimentBuildCollection : ICollectionFixture<ExperimentBuildFixture>;

[Collection("experiment builds")]
public sealed class RunExperimentsTargetsTests(ExperimentBuildFixture fixture)
{
    private static readonly string[] AllStagesOfA = ["a:split", "a:test", "a:train"];

    private ExperimentBuild.Result Build(string target = "RunExperiments", params string[] properties) =>
        ExperimentBuild.Run(fixture.ConfigFile, target, properties.Length == 0 ? ["Experiment=a%3Bb"] : properties);

    private static void Succeeded(ExperimentBuild.Result result) => Assert.True(result.ExitCode == 0, result.Log);

    [Fact]
    public void RunExperiments_FirstBuildOfTag_RunsEveryStageOfTaggedExperiments()
    {
        Succeeded(fixture.Initial);
        Assert.Equal(["a:split", "a:test", "a:train", "b:split", "b:test", "b:train"], fixture.Initial.Ran);
        Assert.True(File.Exists(fixture.Output("a", "metrics.json")));
        Assert.False(System.IO.Directory.Exists(Path.Combine(fixture.Directory, "artifacts", "experiments", "broken")), "'broken' is not tagged 't'");
    }

    [Fact]
    public void RunExperiments_FirstBuild_WritesSnapshotsTensorBoardAndClosingSummary()
    {
        Succeeded(fixture.Initial);
        string snapshot = File.ReadAllText(Path.Combine(fixture.Directory, "results", "a.md"));
        Assert.Contains("## Confusion matrix, rows: true class, columns: predicted", snapshot);
        Assert.DoesNotContain(fixture.Directory, snapshot);
        Assert.True(File.Exists(Path.Combine(fixture.Directory, "results", "b.md")));
        Assert.Single(System.IO.Directory.GetFiles(fixture.Output("a", "tensorboard"), "events.out.tfevents.*.train"));
        Assert.Matches(@"Repro: experiment\s+test accuracy\s+Δ vs lock\s+status", fixture.Initial.Log);
        Assert.Matches(@"Repro: a\s+\d+\.\d\d%\s+new\s+ran", fixture.Initial.Log);
    }

    [Fact]
    public void RunExperiments_NothingChanged_ReportsEveryExperimentUpToDate()
    {
        var result = Build();

        Succeeded(result);
        Assert.Empty(result.Ran);
        Assert.Equal(["a", "b"], result.UpToDate);
    }

    [Fact]
    public void RunExperiments_CommentsAddedAndKeysReordered_RunsNothing()
    {
        fixture.WriteConfig(reshuffled: true);
        try
        {
            var result = Build();

            Succeeded(result);
            Assert.Empty(result.Ran);
        }
        finally
        {
            fixture.WriteConfig();
        }
    }

    [Fact]
    public void RunExperiments_EpochsChanged_RunsOnlyThatExperimentsTrainAndTest()
    {
        fixture.Edit("epochs", "2");

        var result = Build();

        Succeeded(result);
        Assert.Equal(["a:test", "a:train"], result.Ran);
        Assert.Equal(["b"], result.UpToDate);
    }

    [Fact]
    public void RunExperiments_TestBatchChanged_RunsOnlyThatExperimentsTest()
    {
        fixture.Edit("test_batch", "8");

        var result = Build();

        Succeeded(result);
        Assert.Equal(["a:test"], result.Ran);
    }

    [Fact]
    public void RunExperiments_MetricsDeleted_RunsOnlyTheStageThatWroteThem()
    {
        File.Delete(fixture.Output("a", "metrics.json"));

        var result = Build();

        Succeeded(result);
        Assert.Equal(["a:test"], result.Ran);
        Assert.True(File.Exists(fixture.Output("a", "metrics.json")));
    }

    [Fact]
    public void RunExperiments_Force_RunsEveryStageOfTheSelectionOnly()
    {
        var result = Build("RunExperiments", "Experiment=a", "Force=true");

        Succeeded(result);
        Assert.Equal(AllStagesOfA, result.Ran);
        Assert.DoesNotContain("Repro: b", result.Log);
    }

    [Fact]
    public void CleanExperiments_Selection_RemovesItsOutputsAndTheNextBuildRunsEveryStage()
    {
        var clean = Build("CleanExperiments", "Experiment=a");

        Succeeded(clean);
        Assert.False(System.IO.Directory.Exists(Path.Combine(fixture.Directory, "artifacts", "experiments", "a")));
        Assert.True(File.Exists(fixture.Output("b", "metrics.json")), "b was not selected");

        var result = Build();

        Succeeded(result);
        Assert.Equal(AllStagesOfA, result.Ran);
    }

    [Fact]
    public void RunExperiments_CoreAssemblyRebuilt_RunsEveryStage()
    {
        // What a change to src/Core leaves behind: a newer compiler output, which the build copies to the host's folder.
        string core = Path.Combine(RepositoryRoot.Path, "artifacts", "obj", "Repro.Core", "debug", "Repro.Core.dll");
        Assert.True(File.Exists(core), $"{core} (built by the fixture's first build)");
        File.SetLastWriteTimeUtc(core, DateTime.UtcNow);

        var result = Build();

        Succeeded(result);
        Assert.Equal(["a:split", "a:test", "a:train", "b:split", "b:test", "b:train"], result.Ran);
    }

    [Fact]
    public void RunExperiments_CorruptData_FailsNamingTheExperimentAndLeavesNoMetrics()
    {
        var result = Build("RunExperiments", "Experiment=broken");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error REPRO200: experiment 'broken' failed in stage 'split'", result.Log);
        Assert.False(File.Exists(fixture.Output("broken", "split.tsv")));
        Assert.False(File.Exists(fixture.Output("broken", "metrics.json")));
    }

    [Fact]
    public void RunExperiments_Build_LocksResultsOfTheSelection()
    {
        Succeeded(Build());

        string locked = File.ReadAllText(fixture.LockFile);
        Assert.Contains("\"a\": {", locked);
        Assert.Contains("\"b\": {", locked);
        Assert.DoesNotContain("broken", locked);
        string table = File.ReadAllText(Path.Combine(fixture.Directory, "artifacts", "results.md"));
        Assert.Contains("| a | tiny | resnet50 | no | no |", table);
    }

    [Fact]
    public void VerifyExperiments_LockedNumberChanged_FailsWithTableOfOnlyThatDifference()
    {
        Succeeded(Build());
        string original = File.ReadAllText(fixture.LockFile);
        var lines = original.Split('\n');
        int b = Array.FindIndex(lines, l => l.Contains("\"b\": {", StringComparison.Ordinal));
        // The first locked loss value of b (the summary before it holds objects, not numbers).
        int loss = Array.FindIndex(lines, b, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s*""loss"": \d"));
        lines[loss] = lines[loss][..lines[loss].IndexOf('"', StringComparison.Ordinal)] + "\"loss\": 123.000000,";
        File.WriteAllText(fixture.LockFile, string.Join('\n', lines));
        try
        {
            var result = Build("VerifyExperiments");

            // 'a' re-ran from scratch in a scratch folder and matched exactly; only the tampered number differs.
            Assert.NotEqual(0, result.ExitCode);
            Assert.Equal(["a:split", "a:test", "a:train", "b:split", "b:test", "b:train"], result.Ran);
            Assert.Contains("| b | bitwise | loss | 123.000000 |", result.Log);
            Assert.Contains("VerifyExperiments check: bitwise", result.Log);
            Assert.DoesNotContain("| a |", result.Log);
        }
        finally
        {
            File.WriteAllText(fixture.LockFile, original);
        }
    }

    [Fact]
    public void RunExperiments_SeedSweep_RunsEachSeedAndAddingASeedRunsOnlyThatSeed()
    {
        fixture.SweepSeeds = "[1, 2]";
        fixture.WriteConfig();
        var first = Build("RunExperiments", "Experiment=s");

        Succeeded(first);
        Assert.Equal(["s/seed-1:split", "s/seed-1:test", "s/seed-1:train", "s/seed-2:split", "s/seed-2:test", "s/seed-2:train"], first.Ran);
        Assert.True(File.Exists(fixture.Output("s", Path.Combine("seed-2", "metrics.json"))));
        Assert.Contains("| accuracy |", File.ReadAllText(fixture.Output("s", "report.md")));
        var entry = ResultsLock.Read(File.ReadAllText(fixture.LockFile))["s"];
        Assert.Equal(2, entry.Platforms[entry.Reference].Seeds.Count);

        fixture.SweepSeeds = "[1, 2, 3]";
        fixture.WriteConfig();
        var second = Build("RunExperiments", "Experiment=s");

        Succeeded(second);
        Assert.Equal(["s/seed-3:split", "s/seed-3:test", "s/seed-3:train"], second.Ran);
        Assert.Equal(["s/seed-1", "s/seed-2"], second.UpToDate);
        entry = ResultsLock.Read(File.ReadAllText(fixture.LockFile))["s"];
        Assert.Equal([1UL, 2, 3], entry.Platforms[entry.Reference].Seeds.Keys.ToArray());
    }

    [Fact]
    public void VerifyExperiments_VerifySeedsTwo_ReRunsTheFirstTwoSeedsOfTheSweep()
    {
        fixture.SweepSeeds = "[1, 2, 3]";
        fixture.WriteConfig();
        Succeeded(Build("RunExperiments", "Experiment=s"));

        var result = Build("VerifyExperiments", "Experiment=s", "ReproVerifySeeds=2");

        Succeeded(result);
        Assert.Equal(["s/seed-1:split", "s/seed-1:test", "s/seed-1:train", "s/seed-2:split", "s/seed-2:test", "s/seed-2:train"], result.Ran);
        Assert.Contains("s/seed-2: bitwise check on numerics platform", result.Log);
    }

    [Fact]
    public void VerifyExperiments_VerifySeedsNotACount_FailsBeforeRunningAnything()
    {
        var result = Build("VerifyExperiments", "Experiment=a", "ReproVerifySeeds=some");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error REPRO313: -p:ReproVerifySeeds must be first, all or a number of seeds (1, 2, …), not 'some'", result.Log);
        Assert.Empty(result.Ran);
    }
}
