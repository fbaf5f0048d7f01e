using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Tests.Data;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// A ResNet50 experiment small enough for a unit test: 24 train and 12 test Fashion-MNIST-like IDX images
/// upscaled to 16x16, batch 8 (3 steps an epoch), one LibTorch thread. Defaults exercise every random source:
/// augmentation, the shuffled order, initial weights and the seed head's dropout.
/// </summary>
internal sealed class TinyExperiment : IDisposable
{
    private readonly TempDir dir = new();
    private readonly Dictionary<string, string> keys;

    /// <param name="settings">YAML lines for the experiment entry, replacing defaults of the same key.</param>
    public TinyExperiment(params string[] settings)
    {
        Fixtures.IdxDataset(dir, train: 24, test: 12, gzip: false, name: "tiny-fashion");
        keys = new Dictionary<string, string>
        {
            ["dataset"] = "tiny",
            ["split"] = "official",
            ["model"] = "resnet50",
            ["head"] = "seed",
            ["crop"] = "16",
            ["augment"] = "true",
            ["batch"] = "8",
            ["test_batch"] = "16",
            ["epochs"] = "2",
            ["optimizer"] = "adam",
            ["lr"] = "0.001",
            ["seed"] = "7",
            ["device"] = "cpu",
            ["threads"] = "1",
            ["loader_threads"] = "1",
        };
        Experiment = Load(settings);
    }

    public string ConfigPath => Path.Combine(dir.Path, "experiments.yaml");

    public string Directory => dir.Path;

    public ExperimentSpec Experiment { get; private set; }

    /// <summary>Rewrites experiments.yaml with <paramref name="settings"/> changed, as a person editing it would.</summary>
    public void Edit(params string[] settings) => Experiment = Load(settings);

    /// <summary>A runner writing to <paramref name="output"/> under this experiment's folder.</summary>
    public ExperimentRunner Runner(string output = "out", IProgress<TrainProgress>? progress = null, List<string>? log = null) =>
        new(Run(output), progress, log is null ? null : log.Add);

    /// <summary>The run as the build schedules it, writing to <paramref name="output"/> under this experiment's folder.</summary>
    public ScheduledRun Run(string output = "out") =>
        ScheduledRun.Create(ConfigPath, Experiment, null, Path.Combine(dir.Path, "artifacts")).WithOutput(Path.Combine(dir.Path, output));

    private ExperimentSpec Load(string[] settings)
    {
        foreach (var line in settings)
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            keys[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        string yaml = "datasets:\n  tiny:\n    kind: idx\n    root: tiny-fashion\nexperiments:\n  - name: tiny\n"
            + string.Concat(keys.Select(k => $"    {k.Key}: {k.Value}\n"));
        File.WriteAllText(ConfigPath, yaml);
        var file = ExperimentsFile.Load(ConfigPath);
        Assert.Empty(file.Errors);
        return Assert.Single(file.Experiments);
    }

    /// <summary>
    /// Split, train and test into <paramref name="output"/> in the F# host as a child process, as the build runs
    /// them (a native crash fails the test, naming the signal); returns a runner for the paths and what the host printed.
    /// </summary>
    public (ExperimentRunner Runner, List<string> Printed) RunAllInHost(string output = "out")
    {
        var runner = Runner(output);
        var printed = new List<string>();
        foreach (var stage in new[] { "split", "train", "test" })
            printed.AddRange(HostProcess.Run(stage, ConfigPath, Experiment.Name, runner.Layout.Directory));
        return (runner, printed);
    }

    /// <summary>Split, train and test into <paramref name="output"/> (in the F# host); returns the runner for its paths.</summary>
    public ExperimentRunner RunAll(string output = "out") => RunAllInHost(output).Runner;

    public void Dispose() => dir.Dispose();
}

/// <summary>
/// Tests that train: LibTorch's seed, thread count and deterministic flag are process-wide, so these run alone,
/// after the parallel tests, and resident memory measures only them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibTorchCollection
{
    public const string Name = "LibTorch global state";
}
