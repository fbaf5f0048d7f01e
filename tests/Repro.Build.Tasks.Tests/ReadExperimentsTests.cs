namespace Repro.Build.Tasks.Tests;

public sealed class ReadExperimentsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-read-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private (bool Ok, RecordingBuildEngine Engine, ReadExperiments Task) Run(string yaml, string? selection = null, string? overrides = null)
    {
        Directory.CreateDirectory(Path.Combine(dir, "data"));
        File.WriteAllText(Path.Combine(dir, "experiments.yaml"), yaml);
        var engine = new RecordingBuildEngine();
        var task = new ReadExperiments
        {
            BuildEngine = engine,
            ConfigFile = Path.Combine(dir, "experiments.yaml"),
            ArtifactsDirectory = Path.Combine(dir, "artifacts"),
            Selection = selection,
            Overrides = overrides,
        };
        return (task.Execute(), engine, task);
    }

    private const string Valid = """
        datasets:
          sample:
            kind: idx
            root: data
        experiments:
          - name: a
            tags: [quick]
            dataset: sample
            epochs: 2
        """;

    // The host runs what the build scheduled: the run stamp ReadExperiments writes is the run the host would build
    // from experiments.yaml itself (by hand, --config/--experiment), and its canonical settings are the stage stamps.
    [Fact]
    public void Execute_SweepSeed_RunStampIsWhatTheHostSchedulesAndHoldsTheStageStamps()
    {
        var (ok, engine, task) = Run(Valid.Replace("epochs: 2", "epochs: 2\n    seeds: [4, 5]", StringComparison.Ordinal));
        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        var item = task.Experiments.Single(i => i.ItemSpec == "a/seed-5");

        var stamped = Repro.Config.ScheduledRun.Read(item.GetMetadata("RunStamp"));
        var file = Repro.Config.ExperimentsFile.Load(Path.Combine(dir, "experiments.yaml"));
        var byHand = Repro.Config.ScheduledRun.Create(file.Path, Assert.Single(file.Experiments), 5, Path.Combine(dir, "artifacts"));

        Assert.Equal(byHand.ToJson(), stamped.ToJson());
        Assert.Equal("a/seed-5", stamped.Name);
        Assert.Equal(5UL, stamped.Spec.Seed);
        foreach (var (stage, metadata) in new[] { (Repro.Config.Stage.Split, "SplitStamp"), (Repro.Config.Stage.Train, "TrainStamp"), (Repro.Config.Stage.Test, "TestStamp") })
            Assert.Equal(File.ReadAllText(item.GetMetadata(metadata)), stamped.Canonical(stage));
        Assert.Equal(stamped.Layout.Metrics, item.GetMetadata("TestOutput"));
    }

    [Fact]
    public void Execute_YamlSyntaxError_LogsErrorWithFileAndLine()
    {
        var (ok, engine, _) = Run("""
            datasets:
              sample:
                kind: idx
            experiments:
              - name: a
                dataset: [sample
            """);

        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal(Path.Combine(dir, "experiments.yaml"), error.File);
        Assert.True(error.LineNumber >= 6, $"line {error.LineNumber}");
        Assert.Contains("YAML syntax error", error.Message);
    }

    [Fact]
    public void Execute_ValidFile_ReturnsSelectedExperimentWithStamps()
    {
        var (ok, engine, task) = Run(Valid);

        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        var item = Assert.Single(task.Experiments);
        Assert.Equal("a", item.ItemSpec);
        Assert.True(File.Exists(item.GetMetadata("TrainStamp")));
        Assert.Contains("\"epochs\": 2", File.ReadAllText(item.GetMetadata("TrainStamp")));
    }

    [Fact]
    public void Execute_CommentAdded_LeavesStampsUntouched()
    {
        var (_, _, first) = Run(Valid);
        string stamp = first.Experiments[0].GetMetadata("TrainStamp");
        var before = File.GetLastWriteTimeUtc(stamp);
        Thread.Sleep(20);

        var (ok, _, _) = Run("# a comment\n" + Valid.Replace("epochs: 2", "epochs: 2   # still two"));

        Assert.True(ok);
        Assert.Equal(before, File.GetLastWriteTimeUtc(stamp));
    }

    [Fact]
    public void Execute_UnknownSelection_LogsErrorWithSuggestion()
    {
        var (ok, engine, _) = Run(Valid, selection: "quik");

        Assert.False(ok);
        Assert.Contains("did you mean 'quick'", Assert.Single(engine.Errors).Message);
    }

    private const string Three = """
        datasets:
          sample:
            kind: idx
            root: data
        experiments:
          - {name: a, tags: [quick, small], dataset: sample}
          - {name: b, tags: [small], dataset: sample}
          - {name: c, dataset: sample}
        """;

    [Theory]
    [InlineData(null, "a")]
    [InlineData("c", "c")]
    [InlineData("small", "a,b")]
    [InlineData("c;a", "c,a")]
    [InlineData(" c ; small ;a", "c,a,b")]
    public void Execute_Selection_SelectsNamesAndTagsOnceEachInOrder(string? selection, string expected)
    {
        var (ok, engine, task) = Run(Three, selection);

        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        Assert.Equal(expected, string.Join(",", task.Experiments.Select(e => e.ItemSpec)));
    }

    [Fact]
    public void Execute_ValidationErrors_LogsEachWithFileLineAndColumn()
    {
        var (ok, engine, _) = Run("""
            datasets:
              sample:
                kind: idx
                root: data
            experiments:
              - name: a
                dataset: sample
                epochs: lots
                optimiser: sgd
            """);

        Assert.False(ok);
        Assert.Equal(
            ["REPRO122 8,13 'epochs' must be a whole number, not 'lots'", "REPRO119 9,5 unknown key 'optimiser'; did you mean 'optimizer'?"],
            engine.Errors.Select(e => $"{e.Code} {e.LineNumber},{e.ColumnNumber} {e.Message}"));
        Assert.All(engine.Errors, e => Assert.Equal(Path.Combine(dir, "experiments.yaml"), e.File));
    }

    [Fact]
    public void Execute_Overrides_EachSelectedRunAsAVariantInItsOwnFolder()
    {
        var (ok, engine, task) = Run(Three.Replace("{name: b, tags: [small], dataset: sample}", "{name: b, tags: [small], dataset: sample, seeds: [1, 2]}", StringComparison.Ordinal),
            selection: "small", overrides: "lr=0.002;epochs=3");

        Assert.True(ok, string.Join("\n", engine.Errors.Select(e => e.Message)));
        Assert.Equal(["a@epochs=3,lr=0.002", "b@epochs=3,lr=0.002/seed-1", "b@epochs=3,lr=0.002/seed-2"], task.Experiments.Select(e => e.ItemSpec));
        var first = task.Experiments[0];
        Assert.Equal(("a@epochs=3,lr=0.002", "a"), (first.GetMetadata("Experiment"), first.GetMetadata("Parent")));
        Assert.Equal(Path.Combine(dir, "artifacts", "experiments", "a@epochs=3,lr=0.002") + Path.DirectorySeparatorChar, first.GetMetadata("OutputDirectory"));
        Assert.Contains("\"epochs\": 3", File.ReadAllText(first.GetMetadata("TrainStamp")));
        Assert.Equal("a@epochs=3,lr=0.002", Repro.Config.ScheduledRun.Read(first.GetMetadata("RunStamp")).Spec.Name);
    }

    [Fact]
    public void Execute_NoOverrides_ParentMetadataEmpty()
    {
        var (_, _, task) = Run(Valid);

        Assert.Equal("", Assert.Single(task.Experiments).GetMetadata("Parent"));
    }

    [Fact]
    public void Execute_BadOverride_LoggedAtTheCommandLineColumnAndNothingSelected()
    {
        var (ok, engine, task) = Run(Valid, overrides: "epochs=3;lr=20");

        Assert.False(ok);
        var error = Assert.Single(engine.Errors);
        Assert.Equal(("REPRO123", "-p:Set", 1, 13), (error.Code, error.File, error.LineNumber, error.ColumnNumber));
        Assert.Empty(task.Experiments);
    }
}
