using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Repro.Config;
using Repro.Config.IO;
using Repro.Core.Data;
using Repro.Core.Engine;
using Repro.Core.Models;
using Repro.Core.Reports;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core;

/// <summary>Where one experiment's files go: <c>artifacts/experiments/&lt;name&gt;/</c>.</summary>
public sealed record ExperimentPaths(string Directory)
{
    public string SplitManifest => Path.Combine(Directory, "split.tsv");
    public string Checkpoints => Path.Combine(Directory, "checkpoint");
    public string Model => Path.Combine(Directory, "model.bin");
    public string Training => Path.Combine(Directory, "training.json");
    public string Metrics => Path.Combine(Directory, "metrics.json");
    public string History => Path.Combine(Directory, "history.csv");
    public string Report => Path.Combine(Directory, "report.md");
    public string Curves => Path.Combine(Directory, "curves.png");
    public string Confusion => Path.Combine(Directory, "confusion.png");
    public string Lesion => Path.Combine(Directory, "lesion.md");
    public string LesionPlot => Path.Combine(Directory, "lesion.png");
}

/// <summary>What the train stage leaves for the test stage (training.json).</summary>
public sealed record TrainingRecord(string Config, string Data, string Path, double Seconds, List<EpochRecord> History);

/// <summary>
/// Runs the stages of one experiment — split, train, test/report — each reading what the previous one wrote,
/// so the build can skip any stage whose inputs did not change.
/// </summary>
public sealed class ExperimentRunner
{
    private readonly Experiment experiment;
    private readonly string configDirectory;
    private readonly IProgress<TrainProgress>? progress;
    private readonly Action<string> log;

    public ExperimentRunner(Experiment experiment, string configDirectory, string outputDirectory, IProgress<TrainProgress>? progress = null, Action<string>? log = null)
    {
        this.experiment = experiment;
        this.configDirectory = configDirectory;
        this.progress = progress;
        this.log = log ?? (_ => { });
        Paths = new ExperimentPaths(Path.GetFullPath(outputDirectory));
    }

    public ExperimentPaths Paths { get; }

    /// <summary>Fingerprint of what training depends on (data selection and training settings).</summary>
    public string TrainFingerprint => experiment.Fingerprint(Stage.Train, configDirectory);

    public ImageDataset OpenDataset() =>
        Datasets.Open(experiment.Dataset.Kind, DatasetRoots.Ensure(experiment.Dataset.Kind, experiment.Dataset.Root, experiment.Dataset.Download, log),
            new DatasetOptions(SkipCorruptImages: experiment.Dataset.SkipCorrupt, KeepClasses: experiment.Dataset.Classes));

    /// <summary>Split stage: the official split or a seeded stratified one, written as a manifest.</summary>
    public SplitManifest Split()
    {
        var dataset = OpenDataset();
        var split = MakeSplit(dataset);
        var manifest = Splits.WriteManifest(dataset, split, Paths.SplitManifest);
        string skipped = dataset.SkippedFiles.Count > 0 ? "; " + SkippedImages.Describe(dataset.SkippedFiles) : "";
        log($"split: {manifest.TrainCount} train / {manifest.TestCount} test images, manifest {manifest.Hash[..16]}{skipped}");
        return manifest;
    }

    private DatasetSplit MakeSplit(ImageDataset dataset) => experiment.TestFraction is { } fraction
        ? Splits.Stratified(dataset, fraction, experiment.Seed)
        : dataset.OfficialSplit ?? throw new InvalidOperationException(
            $"dataset '{experiment.Dataset.Name}' ({experiment.Dataset.Kind}) has no official split; set 'split:' to a test fraction such as 0.1 for experiment '{experiment.Name}'");

    private (ImageDataset Dataset, DatasetSplit Split, string Hash) LoadSplit()
    {
        var dataset = OpenDataset();
        var split = MakeSplit(dataset);
        if (!File.Exists(Paths.SplitManifest))
            throw new FileNotFoundException($"{Paths.SplitManifest}: split manifest missing; run the split stage first.", Paths.SplitManifest);
        // The manifest on disk is what the report cites; the split is recomputed and must hash to it.
        string expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Paths.SplitManifest)));
        string scratch = Path.Combine(Paths.Directory, ".split-check.tsv");
        var recomputed = Splits.WriteManifest(dataset, split, scratch);
        File.Delete(scratch);
        if (recomputed.Hash != expected)
            throw new InvalidDataException($"{Paths.SplitManifest}: the data changed since the split was written (manifest {expected[..16]}, data now {recomputed.Hash[..16]}); run the split stage again.");
        return (dataset, split, expected);
    }

    private Normalization Normalization => experiment.Normalize == "half" ? Data.Normalization.Half : Data.Normalization.ImageNet;

    /// <summary>The experiment's model with its seeded initial weights.</summary>
    internal BuiltModel BuildModel(int classes)
    {
        // Seeded before construction: the random initial weights are part of the result.
        TorchRuntime.Seed(TorchRuntime.Derive(experiment.Seed, 0, 0x1417));
        string? weights = experiment.Pretrained == Experiment.ImageNetWeights ? PretrainedWeights.Resolve(experiment.Model, log: log) : experiment.Pretrained;
        return ModelBuilder.Build(experiment.Model, classes, experiment.Head, experiment.Freeze, weights,
            strict: !experiment.LoadNonStrict, frozenBatchNormTrains: experiment.FrozenBatchNormTrains);
    }

    /// <summary>
    /// The transform of the test split (and of the per-epoch validation): the evaluation one, or with
    /// <c>test_augment</c> the training one, random crops and flips included, as the tutorial tested
    /// (one <c>transforms.Compose</c> for both folders).
    /// </summary>
    internal InputPipeline TestPipeline => new(experiment.Crop, experiment.TestAugment && experiment.Augment, Normalization);

    /// <summary>The transform of the training batches.</summary>
    internal InputPipeline TrainPipeline => new(experiment.Crop, experiment.Augment, Normalization);

    /// <summary>Resolves the device, configures LibTorch and picks the model's input type and layout.</summary>
    private (Device Device, InputFormat Input) Prepare()
    {
        var device = TorchRuntime.ResolveDevice(experiment.Device);
        if (!TorchRuntime.Configure(experiment.Threads, device, experiment.Tf32))
            log("LibTorch did not confirm deterministic algorithms; results may differ between runs");
        var type = ScalarType.Float32;
        if (experiment.Bf16 && device.type == DeviceType.CUDA)
            type = ScalarType.BFloat16;
        else if (experiment.Bf16)
            // CPU bfloat16 kernels are slow and change results; the setting is meant for GPUs, so it is set aside loudly.
            log("bf16 applies on CUDA only; this run is on the CPU, in float32");
        return (device, new InputFormat(type, experiment.ChannelsLast));
    }

    /// <summary>Moves the model to the device, then to bfloat16 when the run uses it.</summary>
    private static void Place(BuiltModel model, Device device, ScalarType type)
    {
        model.Module.to(device);
        if (type != ScalarType.Float32)
            model.Module.to(type);
    }

    /// <summary>Train stage: trains (resuming from a checkpoint of the same configuration) and saves the model.</summary>
    /// <param name="discardStaleCheckpoint">Delete a checkpoint written for another configuration instead of failing.</param>
    /// <param name="cancellation">Stops training before the next batch (Ctrl+C); the last complete epoch's checkpoint
    /// stays, and the next call resumes from it.</param>
    public TrainingRecord Train(bool discardStaleCheckpoint = false, CancellationToken cancellation = default)
    {
        var (device, input) = Prepare();
        var (dataset, split, dataHash) = LoadSplit();
        using var model = BuildModel(dataset.Classes.Count);
        if (model.Classifier is { } classifier)
            log($"pretrained weights: backbone from the checkpoint; {classifier}");
        Place(model, device, input.Type);
        if (discardStaleCheckpoint)
            DiscardStaleCheckpoint();

        var clock = Stopwatch.StartNew();
        var evalPipeline = new InputPipeline(experiment.Crop, false, Normalization);
        using var train = new DataLoader(dataset, split.Train, TrainPipeline, experiment.Batch, shuffle: true, experiment.Seed, experiment.LoaderThreads);
        using var validation = new DataLoader(dataset, split.Test, TestPipeline, experiment.TestBatch, shuffle: false, experiment.Seed, experiment.LoaderThreads);
        var board = experiment.TensorBoard ? TensorBoardLog.ForStage(Paths.Directory, "train") : null;
        var trainer = new Trainer(experiment, model.Module, model.SetTrainingMode, device, Paths.Checkpoints, TrainFingerprint, progress, input, board);
        // Cached features come from the backbone in evaluation mode, once: with frozen_bn_train (statistics drifting every
        // batch) or test_augment (a new random crop at every evaluation) they would not be the tutorial's.
        bool cached = experiment.CacheFeatures && model.FrozenBackbone && !model.FrozenBatchNormTrains && !experiment.TestAugment;
        if (experiment.CacheFeatures && !model.FrozenBackbone)
            log("cache_features needs 'freeze: backbone'; training through the whole network");
        else if (experiment.CacheFeatures && !cached)
            log("cache_features is set aside with frozen_bn_train or test_augment; training through the whole network");
        if (model.NonStrict is { } skipped)
            log($"pretrained weights: {skipped.Describe()}");
        IReadOnlyList<EpochRecord> history;
        if (cached)
        {
            using var trainEvaluation = new DataLoader(dataset, split.Train, evalPipeline, experiment.TestBatch, shuffle: false, experiment.Seed, experiment.LoaderThreads);
            history = trainer.RunOnCachedFeatures((IClassifier)model.Module, trainEvaluation, validation, dataset.Classes, cancellation);
        }
        else
        {
            history = trainer.Run(train, validation, dataset.Classes, cancellation);
        }

        // model.bin is always float32, so the test stage loads it whatever its own precision.
        if (input.Type != ScalarType.Float32)
            model.Module.to(ScalarType.Float32);
        AtomicFile.WriteVia(Paths.Model, p => model.Module.save(p));
        string path = cached
            ? "cached features: the frozen backbone ran once over both splits (evaluation transform), the head trained on the cached features"
            : model.FrozenBackbone && model.FrozenBatchNormTrains
                ? "frozen backbone left in training mode (frozen_bn_train: BatchNorm running statistics drift, as in the tutorial), every batch through the network, head trained"
            : model.FrozenBackbone
                ? "frozen backbone (evaluation mode, BatchNorm statistics fixed), every batch through the network, head trained"
                : "full fine-tune: every batch through the network, every layer trained";
        // A resumed run counts the checkpointed epochs' time too, so the report gives the whole training's cost.
        double seconds = clock.Elapsed.TotalSeconds + history.Take(trainer.ResumedEpochs).Sum(h => h.Seconds);
        var record = new TrainingRecord(TrainFingerprint, dataHash, path, seconds, [.. history]);
        AtomicFile.WriteAllText(Paths.Training, JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));
        return record;
    }

    private void DiscardStaleCheckpoint()
    {
        string state = Path.Combine(Paths.Checkpoints, "state.json");
        if (File.Exists(state) && !File.ReadAllText(state).Contains($"\"{TrainFingerprint}\"", StringComparison.Ordinal))
        {
            log($"discarding checkpoint of another configuration in {Paths.Checkpoints}");
            Directory.Delete(Paths.Checkpoints, recursive: true);
        }
    }

    /// <summary>
    /// The lesion study of Veit et al. (2016), the tutorial's section 1.5.3: test accuracy of the trained ResNet
    /// with each residual block (whose shortcut is the identity) removed in turn, its shortcut kept.
    /// </summary>
    public string Lesion()
    {
        var (device, input) = Prepare();
        var (dataset, split, _) = LoadSplit();
        if (!File.Exists(Paths.Model))
            throw new FileNotFoundException($"{Paths.Model}: no trained model; run the train stage first.", Paths.Model);
        using var model = BuildModel(dataset.Classes.Count);
        if (model.Module is not ResNet resnet)
            throw new ArgumentException($"the lesion study needs a ResNet; experiment '{experiment.Name}' uses {experiment.Model}");
        model.Module.load(Paths.Model);
        Place(model, device, input.Type);
        using var loader = new DataLoader(dataset, split.Test, new InputPipeline(experiment.Crop, false, Normalization), experiment.TestBatch, shuffle: false, experiment.Seed, experiment.LoaderThreads);
        double baseline = Evaluator.Evaluate(model.Module, loader, dataset.Classes, device, input: input).Accuracy;
        var rows = new List<(string Block, double Accuracy)>();
        foreach (var (name, block) in resnet.Blocks.Where(b => b.Block.HasIdentityShortcut))
        {
            block.Lesioned = true;
            try
            {
                rows.Add((name, Evaluator.Evaluate(model.Module, loader, dataset.Classes, device, input: input).Accuracy));
            }
            finally
            {
                block.Lesioned = false;
            }
        }
        var md = new System.Text.StringBuilder();
        md.Append($"# Lesion study: {experiment.Name}\n\n");
        md.Append("Test accuracy with one residual block removed (identity shortcut kept), after Veit et al., ");
        md.Append("\"Residual Networks Behave Like Ensembles of Relatively Shallow Networks\" (2016).\n\n");
        md.Append("| removed block | test accuracy | change (points) |\n|---|---|---|\n");
        md.Append($"| none | {ReportWriter.Pct(baseline)} | |\n");
        foreach (var (block, accuracy) in rows)
            md.Append(System.FormattableString.Invariant($"| {block} | {ReportWriter.Pct(accuracy)} | {100 * (accuracy - baseline):+0.00;-0.00} |\n"));
        md.Append("\n![lesion study](lesion.png)\n");
        AtomicFile.WriteAllText(Paths.Lesion, md.ToString());
        Plots.Lesion(Paths.LesionPlot, experiment.Name, baseline, rows);
        return md.ToString();
    }

    /// <summary>Test stage: evaluates the trained model on the test split and writes metrics, plots and the report.</summary>
    public TestMetrics Test()
    {
        var (device, input) = Prepare();
        var (dataset, split, dataHash) = LoadSplit();
        if (!File.Exists(Paths.Training) || !File.Exists(Paths.Model))
            throw new FileNotFoundException($"{Paths.Training}: no trained model; run the train stage first.", Paths.Training);
        var training = JsonSerializer.Deserialize<TrainingRecord>(File.ReadAllText(Paths.Training))
            ?? throw new InvalidDataException($"{Paths.Training}: empty training record.");
        if (training.Config != TrainFingerprint || training.Data != dataHash)
            throw new InvalidDataException($"{Paths.Training}: the trained model belongs to another configuration or data; run the train stage again.");

        using var model = BuildModel(dataset.Classes.Count);
        model.Module.load(Paths.Model);
        Place(model, device, input.Type);
        var clock = Stopwatch.StartNew();
        using var loader = new DataLoader(dataset, split.Test, TestPipeline, experiment.TestBatch, shuffle: false, experiment.Seed, experiment.LoaderThreads);
        var metrics = Evaluator.Evaluate(model.Module, loader, dataset.Classes, device, input: input);
        var testTime = clock.Elapsed;

        var summary = ModelSummary.Create(model.Module, 3, experiment.Crop, experiment.Crop);
        string dataFingerprint = dataHash[..16];
        var platform = NumericsPlatform.Current(device);
        AtomicFile.WriteAllText(Paths.Metrics, MetricsJson.Write(experiment.Name, TrainFingerprint, dataFingerprint, metrics, training.History, platform, dataset.SkippedFiles));
        AtomicFile.WriteAllText(Paths.History, ReportWriter.HistoryCsv(training.History));
        Plots.Curves(Paths.Curves, experiment.Name, training.History);
        Plots.Confusion(Paths.Confusion, experiment.Name, metrics);
        if (experiment.TensorBoard)
        {
            var board = TensorBoardLog.ForStage(Paths.Directory, "test");
            board.Reset();
            board.Test(metrics, training.History.Count, Paths.Confusion, experiment.Values);
        }
        var (commit, dirty) = Provenance.Git(configDirectory);
        var provenance = new Provenance(commit, dirty, TorchRuntime.TorchSharpVersion, TorchRuntime.LibTorchVersion,
            TorchRuntime.DeviceName(device), experiment.Threads, RuntimeInformation.OSDescription,
            input.ToString(), TorchRuntime.DeterministicAlgorithms, platform);
        var report = new ReportData(experiment.Name, experiment.Description, experiment.Canonical(Stage.Train | Stage.Test, configDirectory), TrainFingerprint,
            $"{experiment.Dataset.Name} ({experiment.Dataset.Kind}, {dataset.Classes.Count} classes, {dataset.Samples.Count} images)",
            dataHash, split.Train.Count, split.Test.Count, training.Path, summary.Render(), metrics, training.History, provenance,
            TimeSpan.FromSeconds(training.Seconds), testTime, TutorialFigure.Find(experiment.Tutorial), experiment.Seed,
            experiment.Dataset.SkipCorrupt ? dataset.SkippedFiles : null, model.Classifier);
        AtomicFile.WriteAllText(Paths.Report, ReportWriter.Write(report));
        return metrics;
    }
}
