using System.Globalization;

namespace Repro.Config;

/// <summary>
/// One finished run read back from the files it wrote: the run as the build scheduled it (stamps/run.json, the typed
/// <see cref="ScheduledRun"/>) and its result (metrics.json, <see cref="MetricsFile"/>). Everything the results side
/// reports (the lock, results/*.md, results.md, the closing table, DiffExperiments, VerifyExperiments, the twin report,
/// ShowExperiments) starts from this record, so no consumer parses a stamp or a folder name.
/// </summary>
public sealed record RunResult(ScheduledRun Run, MetricsFile Metrics)
{
    /// <summary>The stages whose settings fingerprints the lock records per seed, in its order.</summary>
    public static IReadOnlyList<Stage> StampedStages { get; } = [Stage.Split, Stage.Train, Stage.Test];

    /// <summary>The experiment's name.</summary>
    public string Name => Run.Spec.Name;

    /// <summary>The run's seed (metrics.json's, which is the scheduled one).</summary>
    public ulong Seed => Metrics.Seed ?? Run.Spec.Seed;

    /// <summary>The spec the run executed.</summary>
    public ExperimentSpec Spec => Run.Spec;

    /// <summary>The platform the result was computed on (<see cref="NumericsPlatformRecord.Unrecorded"/> for old files).</summary>
    public NumericsPlatformRecord Platform => Metrics.Platform ?? NumericsPlatformRecord.Unrecorded;

    /// <summary>The split manifest's hash: which images trained and tested.</summary>
    public string Data => Metrics.Data;

    /// <summary>The fingerprint of a stage's settings: the hash of its stamp, of which <see cref="ScheduledRun"/> is the one owner.</summary>
    public string Fingerprint(Stage stage) => Run.Fingerprint(stage);

    /// <summary>The per-stage fingerprints by lower-case stage name (split, train, test), as the lock keeps them.</summary>
    public IReadOnlyDictionary<string, string> StageFingerprints =>
        StampedStages.ToDictionary(StageName, Fingerprint, StringComparer.Ordinal);

    /// <summary>The lower-case name of a stage, as stamps and the lock write it.</summary>
    public static string StageName(Stage stage) => stage.ToString().ToLowerInvariant();

    /// <summary>A test metric as metrics.json wrote it (fixed decimals); null when the file has none.</summary>
    public string? Raw(Metric metric) => Metrics.Test.Numbers().GetValueOrDefault(metric.Key);

    /// <summary>A test metric as a number; null when missing.</summary>
    public double? Value(Metric metric) =>
        Raw(metric) is { } raw && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    /// <summary>Every test metric's text, by key, in <see cref="Metric.All"/>'s order.</summary>
    public IReadOnlyDictionary<string, string> RawMetrics
    {
        get
        {
            var numbers = Metrics.Test.Numbers();
            return Metric.All.Where(m => numbers.ContainsKey(m.Key)).ToDictionary(m => m.Key, m => numbers[m.Key], StringComparer.Ordinal);
        }
    }

    /// <summary>The dataset's name under <c>datasets:</c>.</summary>
    public string Dataset => Spec.Dataset.Name;

    /// <summary>The architecture's experiments.yaml name.</summary>
    public string Model => Choice.Name(Spec.Model.Architecture);

    /// <summary>The pretrained weights as the train stamp writes them: "imagenet", a path relative to experiments.yaml, or "" for none.</summary>
    public string Pretrained => Spec.Model.Pretrained switch
    {
        null => "",
        ModelSpec.ImageNetWeights => ModelSpec.ImageNetWeights,
        string path => Path.GetRelativePath(Run.BaseDirectory, path).Replace('\\', '/'),
    };

    /// <summary>The <c>freeze</c> choice's name.</summary>
    public string Freeze => Choice.Name(Spec.Model.Freeze);

    /// <summary>The <c>device</c> setting's name (auto, cpu, cuda); where the run actually computed is <see cref="Platform"/>'s device.</summary>
    public string DeviceSetting => Choice.Name(Spec.Runtime.Device);

    /// <summary>Seconds the train stage took (training.json); null when absent. Never locked: it varies between equal runs.</summary>
    public double? TrainSeconds =>
        File.Exists(Run.Layout.Training) ? RunJson.Read<TrainingRecord>(Run.Layout.Training, "training record").Seconds : null;

    /// <summary>
    /// The result of the run in <paramref name="runDirectory"/>; null when it has no complete result (no metrics.json).
    /// A result without its run stamp, or with unreadable files, is an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    public static RunResult? Read(string runDirectory)
    {
        var layout = ExperimentLayout.ForRun(runDirectory);
        if (!File.Exists(layout.Metrics))
            return null;
        var metrics = MetricsFile.Read(layout.Metrics);
        if (!File.Exists(layout.RunStamp))
            throw new InvalidDataException($"{layout.RunStamp}: run stamp missing beside {layout.Metrics}; run the experiment again to record what produced it.");
        var run = ScheduledRun.Read(layout.RunStamp);
        // The stamp says where the run was scheduled; the files may have moved since (a scratch folder, a copied artifacts/).
        return new RunResult(run.WithOutput(layout.Directory), metrics);
    }
}
