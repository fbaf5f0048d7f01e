using System.Globalization;

namespace Repro.Config;

/// <summary>
/// Every file of a run, in one place: <c>artifacts/experiments/&lt;name&gt;/</c> (a sweep's seeds in
/// <c>&lt;name&gt;/seed-&lt;s&gt;/</c>). The build's tasks, the targets (through item metadata), the host and the core
/// all take paths from here; nothing else joins a file name onto a run folder.
/// </summary>
/// <param name="ExperimentDirectory">The experiment's folder (a sweep's report and its seeds' folders live here).</param>
/// <param name="Directory">The run's folder: the experiment's, or one seed's of a sweep.</param>
public sealed record ExperimentLayout(string ExperimentDirectory, string Directory)
{
    private const string SeedPrefix = "seed-";

    /// <summary>The folder holding every experiment's folder, under the artifacts folder.</summary>
    public static string ExperimentsRoot(string artifactsDirectory) => Path.Combine(Path.GetFullPath(artifactsDirectory), "experiments");

    /// <summary>The layout of one run of <paramref name="experiment"/>: <paramref name="sweepSeed"/> for a seed of a sweep, else null.</summary>
    public static ExperimentLayout For(string artifactsDirectory, string experiment, ulong? sweepSeed)
    {
        string experimentDirectory = Path.Combine(ExperimentsRoot(artifactsDirectory), experiment);
        return new(experimentDirectory, sweepSeed is { } seed ? Path.Combine(experimentDirectory, RunFolder(seed)) : experimentDirectory);
    }

    /// <summary>The layout of a run whose folder is given (the host's <c>--output</c>).</summary>
    public static ExperimentLayout ForRun(string runDirectory)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDirectory));
        return new(TryParseRunFolder(Path.GetFileName(full), out _) ? Path.GetDirectoryName(full)! : full, full);
    }

    /// <summary>The folder of one seed of a sweep, under the experiment's folder.</summary>
    public static string RunFolder(ulong seed) => SeedPrefix + seed.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="folder"/> (a name, not a path) is a seed's folder, and which seed.</summary>
    public static bool TryParseRunFolder(string folder, out ulong seed)
    {
        seed = 0;
        return folder.StartsWith(SeedPrefix, StringComparison.Ordinal)
            && ulong.TryParse(folder.AsSpan(SeedPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out seed);
    }

    /// <summary>The seed folders of a sweep under <see cref="ExperimentDirectory"/>, by seed.</summary>
    public IEnumerable<(ulong Seed, ExperimentLayout Run)> SeedRuns()
    {
        if (!System.IO.Directory.Exists(ExperimentDirectory))
            yield break;
        foreach (var folder in System.IO.Directory.EnumerateDirectories(ExperimentDirectory).Order(StringComparer.Ordinal))
            if (TryParseRunFolder(Path.GetFileName(folder), out ulong seed))
                yield return (seed, new ExperimentLayout(ExperimentDirectory, folder));
    }

    // What the build writes before a stage runs: each stage's canonical settings (MSBuild's Inputs), the data listing,
    // the run's typed spec (the host's contract).
    public string Stamps => Path.Combine(Directory, "stamps");
    public string SplitStamp => Path.Combine(Stamps, "split.json");
    public string TrainStamp => Path.Combine(Stamps, "train.json");
    public string TestStamp => Path.Combine(Stamps, "test.json");

    /// <summary>The canonical settings stamp of <paramref name="stage"/> (split, train or test).</summary>
    public string StageStamp(Stage stage) => stage switch
    {
        Stage.Split => SplitStamp,
        Stage.Train => TrainStamp,
        Stage.Test => TestStamp,
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "a single stage"),
    };

    public string DataStamp => Path.Combine(Stamps, "data.txt");
    public string RunStamp => Path.Combine(Stamps, "run.json");

    // What the stages write.
    public string SplitManifest => Path.Combine(Directory, "split.tsv");
    public string Checkpoints => Path.Combine(Directory, "checkpoint");
    public string CheckpointState => Path.Combine(Checkpoints, "state.json");
    public string CheckpointModel(int epoch) => Path.Combine(Checkpoints, $"model-{epoch:D4}.bin");
    public string CheckpointOptimizer(int epoch) => Path.Combine(Checkpoints, $"optimizer-{epoch:D4}.bin");
    public string Model => Path.Combine(Directory, "model.bin");
    public string Training => Path.Combine(Directory, "training.json");
    public string Metrics => Path.Combine(Directory, "metrics.json");
    public string History => Path.Combine(Directory, "history.csv");
    public string Report => Path.Combine(Directory, "report.md");
    public string Curves => Path.Combine(Directory, "curves.png");
    public string Confusion => Path.Combine(Directory, "confusion.png");
    public string Lesion => Path.Combine(Directory, "lesion.md");
    public string LesionPlot => Path.Combine(Directory, "lesion.png");
    public string TensorBoard => Path.Combine(Directory, "tensorboard");

    /// <summary>Written when a stage fails (its name, then the error), removed when a stage starts: ShowExperiments' "failed".</summary>
    public string Failure => Path.Combine(Directory, "failed.txt");

    /// <summary>The file a build holds while it runs this run's stages (one build at a time per run).</summary>
    public string RunLock => Path.Combine(Directory, ".lock");

    /// <summary>The PyTorch twin's cached result of this run (TwinExperiments).</summary>
    public string TwinResult => Path.Combine(Directory, "pytorch.json");

    /// <summary>Slurm: this run's queue of stale stages, job id, script, current stage and log.</summary>
    public string Slurm => Path.Combine(Directory, "slurm");
    public string SlurmQueue => Path.Combine(Slurm, "queue.txt");
    public string SlurmJob => Path.Combine(Slurm, "job.txt");
    public string SlurmScript => Path.Combine(Slurm, "run.sh");
    public string SlurmStage => Path.Combine(Slurm, "stage.txt");
    public string SlurmLog => Path.Combine(Slurm, "log.txt");

    /// <summary>A sweep's report over its seeds, in the experiment's folder.</summary>
    public string SweepReport => Path.Combine(ExperimentDirectory, "report.md");

    /// <summary>The files a stage writes (deleted before it runs, so a failed stage leaves nothing that looks complete).</summary>
    public IReadOnlyList<string> Outputs(Stage stage) => stage switch
    {
        Stage.Split => [SplitManifest],
        Stage.Train => [Training, Model],
        Stage.Test => [Metrics, Report],
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, "a single stage"),
    };
}
