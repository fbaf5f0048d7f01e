using System.Text.Json;

namespace Repro.Build.Tasks.Tests;

/// <summary>A tiny experiments.yaml whose experiment 'a' ran, then its variant lr=0.002; 'b' never ran.</summary>
public sealed class StudyBuildFixture : IDisposable
{
    public const string Variant = "a@lr=0.002";

    public StudyBuildFixture()
    {
        TinyIdxDataset.Write(Path.Combine(Directory, "tiny"));
        File.WriteAllText(ConfigFile, """
            datasets:
              tiny: {kind: idx, root: tiny}
            defaults: {model: resnet50, crop: 16, augment: false, batch: 16, test_batch: 16, epochs: 1, threads: 1, loader_threads: 1, tensorboard: false}
            experiments:
              - {name: a, dataset: tiny, tags: [t]}
              - {name: b, dataset: tiny, epochs: 2}
            """);
        Parent = ExperimentBuild.Run(ConfigFile, "RunExperiments", "Experiment=a");
        Child = ExperimentBuild.Run(ConfigFile, "RunExperiments", "Experiment=a", "Set=\"lr=0.002\"");
    }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("repro-study-").FullName;

    public string ConfigFile => Path.Combine(Directory, "experiments.yaml");

    public ExperimentBuild.Result Parent { get; }

    public ExperimentBuild.Result Child { get; }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition("study builds", DisableParallelization = true)]
public sealed class StudyBuildCollection : ICollectionFixture<StudyBuildFixture>;

[Collection("study builds")]
public sealed class ShowExperimentsTests(StudyBuildFixture fixture)
{
    private static string Row(string log, string name) =>
        log.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith($"| {name} |", StringComparison.Ordinal));

    [Fact]
    public void ShowExperiments_ParentVariantAndUnrunExperiment_OneRowEachWithTheDifferingSettingsAndStatus()
    {
        Assert.True(fixture.Parent.ExitCode == 0 && fixture.Child.ExitCode == 0, fixture.Parent.Log + fixture.Child.Log);

        var show = ExperimentBuild.Run(fixture.ConfigFile, "ShowExperiments");

        Assert.True(show.ExitCode == 0, show.Log);
        Assert.Empty(show.Ran);
        Assert.Contains("| experiment | epochs | lr | seeds | test accuracy | loss | macro F1 | status | Δ vs lock |", show.Log);
        Assert.Matches(@"^\| a \| 1 \| 0\.0002 \| 1/1 \| \d+\.\d\d% \| \d\.\d{4} \| \d\.\d{4} \| up to date \| 0\.00 pp \|$", Row(show.Log, "a"));
        Assert.Matches(@"^\| a@lr=0\.002 \| 1 \| 0\.002 \| 1/1 \| \d+\.\d\d% \| .* \| up to date \| [-+]?\d+\.\d\d pp \(vs parent\) \|$", Row(show.Log, StudyBuildFixture.Variant));
        Assert.Matches(@"^\| b \| 2 \| 0\.0002 \| 0/1 \| — \| — \| — \| never run \|  \|$", Row(show.Log, "b"));
    }

    [Fact]
    public void ShowExperiments_SelectionAndJson_WritesTheParentAndItsVariantForOtherTools()
    {
        var show = ExperimentBuild.Run(fixture.ConfigFile, "ShowExperiments", "Experiment=a", "ReproShowFormat=json");

        Assert.True(show.ExitCode == 0, show.Log);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Directory, "artifacts", "experiments.json")));
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(["a", StudyBuildFixture.Variant], rows.Select(r => r.GetProperty("experiment").GetString()));
        Assert.Equal("0.002", rows[1].GetProperty("settings").GetProperty("lr").GetString());
        Assert.Equal(1, rows[1].GetProperty("accuracy").GetProperty("n").GetInt32());
        Assert.False(rows[1].GetProperty("declared").GetBoolean());
    }

    [Fact]
    public void ShowExperiments_UnknownSort_FailsNamingTheChoices()
    {
        var show = ExperimentBuild.Run(fixture.ConfigFile, "ShowExperiments", "Sort=acc");

        Assert.NotEqual(0, show.ExitCode);
        Assert.Contains("error REPRO314: -p:Sort must be name or a metric (accuracy, loss, macro_f1, top5_accuracy, correct, images), not 'acc'", show.Log);
    }

    [Fact]
    public void DiffExperiments_BaseIsTheParent_TablesEachVariantAgainstIt()
    {
        var diff = ExperimentBuild.Run(fixture.ConfigFile, "DiffExperiments", "ReproDiffBase=a");

        Assert.True(diff.ExitCode == 0, diff.Log);
        Assert.Contains("| experiment | metric | old (a) | new (variant) | delta | 95 % interval | Welch p |", diff.Log);
        Assert.Matches(@"\| a@lr=0\.002 \| (accuracy|loss) \|", diff.Log);
    }
}
