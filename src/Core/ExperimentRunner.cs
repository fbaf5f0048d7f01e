using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Repro.Config;
using Repro.Config.IO;
using Repro.Core.Data;
using Repro.Core.Engine;
using Repro.Core.Models;
using Repro.Core.Reports;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core;

/// <summary>
/// Runs the stages of one scheduled run — split, train, test/report — each reading what the previous one wrote,
/// so the build can skip any stage whose inputs did not change. Everything it needs is in the <see cref="ScheduledRun"/>:
/// the typed spec, where the files go and the config file's folder.
/// </summary>
public sealed class ExperimentRunner(ScheduledRun run, IProgress<TrainProgress>? progress = null, Action<string>? log = null)
{
    private readonly Action<string> log = log ?? (_ => { });

    /// <summary>
    /// The evaluation the train stage of this runner ended with, when it is exactly the test stage's: the model it
    /// trained and saved, on the test split with the test transform and batch, in the same input format. The test stage
    /// then takes it instead of evaluating the same weights on the same batches a second time.
    /// </summary>
    private (string TrainingJson, TestMetrics Metrics, TimeSpan Duration)? finalEvaluation;

    private ExperimentSpec Spec => run.Spec;

    /// <summary>Where this run's files go.</summary>
    public ExperimentLayout Layout => run.Layout;

    /// <summary>Fingerprint of what training depends on (data selection and training settings).</summary>
    public string TrainFingerprint => run.Fingerprint(Stage.Train);

    public ImageDataset OpenDataset() =>
        Datasets.Open(Spec.Dataset.Kind, DatasetRoots.Ensure(Spec.Dataset.Kind, Spec.Dataset.Root, Spec.Dataset.Download, log),
            new DatasetOptions(SkipCorruptImages: Spec.Dataset.SkipCorrupt, KeepClasses: Spec.Dataset.Classes));

    /// <summary>Split stage: the official split or a seeded stratified one, written as a manifest.</summary>
    public SplitManifest Split()
    {
        var dataset = OpenDataset();
        var split = MakeSplit(dataset);
        var manifest = Splits.WriteManifest(dataset, split, Layout.SplitManifest);
        string skipped = dataset.SkippedFiles.Count > 0 ? "; " + SkippedImages.Describe(dataset.SkippedFiles) : "";
        log($"split: {manifest.TrainCount} train / {manifest.TestCount} test images, manifest {manifest.Hash[..16]}{skipped}");
        return manifest;
    }

    private DatasetSplit MakeSplit(ImageDataset dataset) => Spec.TestFraction is { } fraction
        ? Splits.Stratified(dataset, fraction, Spec.Seed)
        : dataset.OfficialSplit ?? throw new InvalidOperationException(
            $"dataset '{Spec.Dataset.Name}' ({Choice.Name(Spec.Dataset.Kind)}) has no official split; set 'split:' to a test fraction such as 0.1 for experiment '{Spec.Name}'");

    /// <summary>The split the manifest on disk describes: the report cites that file, so the split recomputed from the data must hash to it.</summary>
    private (ImageDataset Dataset, DatasetSplit Split, string Hash) LoadSplit()
    {
        var dataset = OpenDataset();
        var split = MakeSplit(dataset);
        if (!File.Exists(Layout.SplitManifest))
            throw new FileNotFoundException($"{Layout.SplitManifest}: split manifest missing; run the split stage first.", Layout.SplitManifest);
        string expected = Splits.Hash(File.ReadAllBytes(Layout.SplitManifest));
        string recomputed = Splits.Hash(Splits.Manifest(dataset, split));
        if (recomputed != expected)
            throw new InvalidDataException($"{Layout.SplitManifest}: the data changed since the split was written (manifest {expected[..16]}, data now {recomputed[..16]}); run the split stage again.");
        return (dataset, split, expected);
    }

    /// <summary>The pretrained checkpoint's local path (torchvision's ImageNet weights downloaded on first use); null without one.</summary>
    private string? PretrainedPath => Spec.Model.Pretrained == ModelSpec.ImageNetWeights
        ? PretrainedWeights.Resolve(Spec.Model.Architecture, log: log)
        : Spec.Model.Pretrained;

    /// <summary>The experiment's model with its seeded initial weights.</summary>
    internal BuiltModel BuildModel(int classes)
    {
        var m = Spec.Model;
        string? weights = PretrainedPath;
        // Seeded right before construction: the random initial weights are part of the result.
        TorchRuntime.Seed(SeededRandom.TorchSeed(RandomStream.Initialization, Spec.Seed));
        return ModelBuilder.Build(m.Architecture, classes, m.Head, m.Freeze, weights, strict: !m.LoadNonStrict, frozenBatchNormTrains: m.FrozenBatchNormTrains);
    }

    /// <summary>
    /// The transform of the test split (and of the per-epoch validation): the evaluation one, or with
    /// <c>test_augment</c> the training one, random crops and flips included, as the tutorial tested
    /// (one <c>transforms.Compose</c> for both folders).
    /// </summary>
    internal InputPipeline TestPipeline => new(Spec.Input.Crop, Spec.Input.TestAugment && Spec.Input.Augment, Normalization.Of(Spec.Input.Normalize));

    /// <summary>The transform of the training batches.</summary>
    internal InputPipeline TrainPipeline => new(Spec.Input.Crop, Spec.Input.Augment, Normalization.Of(Spec.Input.Normalize));

    /// <summary>The evaluation transform, whatever the faithful switches say: cached features and the lesion study use it.</summary>
    private InputPipeline EvaluationPipeline => new(Spec.Input.Crop, false, Normalization.Of(Spec.Input.Normalize));

    /// <summary>A loader over <paramref name="indices"/> of <paramref name="dataset"/> with the run's seed and loader threads.</summary>
    private DataLoader Loader(ImageDataset dataset, IReadOnlyList<int> indices, InputPipeline pipeline, int batch, bool shuffle) =>
        new(dataset, indices, pipeline, batch, shuffle, Spec.Seed, Spec.Runtime.LoaderThreads);

    /// <summary>Resolves the device, configures LibTorch and picks the model's input type and layout.</summary>
    private (Device Device, InputFormat Input) Prepare()
    {
        var runtime = Spec.Runtime;
        // Before anything runs a LibTorch operator: LibTorch reads its huge-page switch at its first allocation, and
        // the portable pins once, at first use.
        string allocator = Allocator.ForExperiments(Allocator.LargestActivationBytes(Math.Max(Spec.Training.Batch, Spec.Evaluation.TestBatch), Spec.Input.Crop));
        Allocator.Apply(allocator);
        PortableNumerics.Apply(runtime.Numerics);
        if (Allocator.Settle(allocator, Allocator.TorchHugePagesInEffect) is var settled && settled != allocator)
        {
            log($"LibTorch allocated before this experiment and did not take its huge-page switch; the allocator keeps '{settled}'");
            Allocator.Apply(settled);
        }
        var device = TorchRuntime.ResolveDevice(runtime.Device);
        if (runtime.Numerics == NumericsMode.Portable && device.type != DeviceType.CPU)
            throw new ArgumentException($"'numerics: portable' pins CPU kernels, but experiment '{Spec.Name}' runs on {device.type}; set 'device: cpu'");
        if (!TorchRuntime.Configure(runtime.Threads, device, runtime.Tf32))
            log("LibTorch did not confirm deterministic algorithms; results may differ between runs");
        var type = ScalarType.Float32;
        if (runtime.Bf16 && device.type == DeviceType.CUDA)
            type = ScalarType.BFloat16;
        else if (runtime.Bf16)
            // CPU bfloat16 kernels are slow and change results; the setting is meant for GPUs, so it is set aside loudly.
            log("bf16 applies on CUDA only; this run is on the CPU, in float32");
        bool channelsLast = Spec.Input.ChannelsLast;
        if (channelsLast && InputFormat.ChannelsLastRefusal(device.type, X86Cpu.Current(), TorchRuntime.OneDnnEnabled != false) is { } why)
        {
            log(why);
            channelsLast = false;
        }
        return (device, new InputFormat(type, channelsLast));
    }

    /// <summary>Moves the model to the device, then to bfloat16 when the run uses it.</summary>
    private static void Place(BuiltModel model, Device device, ScalarType type)
    {
        model.Module.to(device);
        if (type != ScalarType.Float32)
            model.Module.to(type);
    }

    /// <summary>What a checkpoint of this run must have been trained from to be resumed (or trained on, when only <c>epochs</c> grew).</summary>
    private CheckpointKey CheckpointKey(string dataHash) => new(Spec.CheckpointFingerprint(run.BaseDirectory), dataHash,
        PretrainedPath is { } weights ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(weights)))[..16] : "",
        TrainingCheckpoint.CodeIdentity());

    /// <summary>Train stage: trains (resuming from a checkpoint of the same key) and saves the model.</summary>
    /// <param name="discardStaleCheckpoint">Delete a checkpoint written from other settings, data, weights or code instead of failing.</param>
    /// <param name="cancellation">Stops training before the next batch (Ctrl+C); the last complete epoch's checkpoint
    /// stays, and the next call resumes from it.</param>
    public TrainingRecord Train(bool discardStaleCheckpoint = false, CancellationToken cancellation = default)
    {
        var (device, input) = Prepare();
        var (dataset, split, dataHash) = LoadSplit();
        var checkpoint = new TrainingCheckpoint(Layout, CheckpointKey(dataHash), Spec.Training.Epochs);
        if (discardStaleCheckpoint)
            checkpoint.DiscardIfStale(log);
        using var model = BuildModel(dataset.Classes.Count);
        if (model.Classifier is { } classifier)
            log($"pretrained weights: backbone from the checkpoint; {classifier}");
        Place(model, device, input.Type);

        var clock = Stopwatch.StartNew();
        var training = Spec.Training;
        using var validation = Loader(dataset, split.Test, TestPipeline, Spec.Evaluation.TestBatch, shuffle: false);
        var board = Spec.Runtime.TensorBoard ? TensorBoardLog.ForStage(Layout, "train") : null;
        var trainer = new Trainer(training, Spec.Seed, model.Module, model.SetTrainingMode, device, checkpoint, progress, input, board);
        // Cached features come from the backbone in evaluation mode, once: with frozen_bn_train (statistics drifting every
        // batch) or test_augment (a new random crop at every evaluation) they would not be the tutorial's. Without a frozen
        // backbone, cache_features is a validation error (ExperimentRules), so a spec reaching here has one.
        bool cached = training.CacheFeatures && model.FrozenBackbone && !model.FrozenBatchNormTrains && !Spec.Input.TestAugment;
        if (training.CacheFeatures && !cached)
            log("cache_features is set aside with frozen_bn_train or test_augment; training through the whole network");
        if (model.NonStrict is { } skipped)
            log($"pretrained weights: {skipped.Describe()}");
        IReadOnlyList<EpochRecord> history;
        finalEvaluation = null;
        if (cached)
        {
            using var trainEvaluation = Loader(dataset, split.Train, EvaluationPipeline, Spec.Evaluation.TestBatch, shuffle: false);
            history = trainer.RunOnCachedFeatures((IClassifier)model.Module, trainEvaluation, validation, dataset.Classes, Spec.Evaluation.TestBatch, cancellation);
        }
        else
        {
            using var train = Loader(dataset, split.Train, TrainPipeline, training.Batch, shuffle: true);
            history = trainer.Run(train, validation, dataset.Classes, cancellation);
        }

        // model.bin is always float32, so the test stage loads it whatever its own precision. In float32 it is the last
        // epoch's checkpointed model, linked rather than written again.
        if (input.Type != ScalarType.Float32)
        {
            model.Module.to(ScalarType.Float32);
            AtomicFile.WriteVia(Layout.Model, p => model.Module.save(p));
        }
        else if (!checkpoint.ExportModel(Layout.Model))
            AtomicFile.WriteVia(Layout.Model, p => model.Module.save(p));
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
        string recordJson = RunJson.Serialize(record);
        AtomicFile.WriteAllText(Layout.Training, recordJson);
        // The last validation is the test stage's evaluation when it ran through the whole network (cached features
        // skip the backbone's BatchNorm folding), on the float32 weights model.bin holds, with the evaluation transform
        // (test_augment would draw other crops for the test, which reads the split as epoch 0).
        if (!cached && input.Type == ScalarType.Float32 && !TestPipeline.Augment && trainer.LastValidation is { } last
            && trainer.ResumedEpochs < history.Count)
            finalEvaluation = (recordJson, last.Metrics, last.Duration);
        return record;
    }

    /// <summary>
    /// The lesion study of Veit et al. (2016), the tutorial's section 1.5.3: test accuracy of the trained ResNet
    /// with each residual block (whose shortcut is the identity) removed in turn, its shortcut kept.
    /// </summary>
    public string Lesion()
    {
        var (device, input) = Prepare();
        var (dataset, split, _) = LoadSplit();
        if (!File.Exists(Layout.Model))
            throw new FileNotFoundException($"{Layout.Model}: no trained model; run the train stage first.", Layout.Model);
        using var model = BuildModel(dataset.Classes.Count);
        if (model.Module is not ResNet resnet)
            throw new ArgumentException($"the lesion study needs a ResNet; experiment '{Spec.Name}' uses {Choice.Name(Spec.Model.Architecture)}");
        model.Module.load(Layout.Model);
        Place(model, device, input.Type);
        using var loader = Loader(dataset, split.Test, EvaluationPipeline, Spec.Evaluation.TestBatch, shuffle: false);
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
        string md = ReportWriter.Lesion(Spec.Name, baseline, rows);
        AtomicFile.WriteAllText(Layout.Lesion, md);
        Plots.Lesion(Layout.LesionPlot, Spec.Name, baseline, rows);
        return md;
    }

    /// <summary>Test stage: evaluates the trained model on the test split and writes metrics, plots and the report.</summary>
    public TestMetrics Test()
    {
        var (device, input) = Prepare();
        var (dataset, split, dataHash) = LoadSplit();
        if (!File.Exists(Layout.Training) || !File.Exists(Layout.Model))
            throw new FileNotFoundException($"{Layout.Training}: no trained model; run the train stage first.", Layout.Training);
        var training = RunJson.Read<TrainingRecord>(Layout.Training, "training record");
        if (training.Config != TrainFingerprint || training.Data != dataHash)
            throw new InvalidDataException($"{Layout.Training}: the trained model belongs to another configuration or data; run the train stage again.");

        using var model = BuildModel(dataset.Classes.Count);
        model.Module.load(Layout.Model);
        Place(model, device, input.Type);
        TestMetrics metrics;
        TimeSpan testTime;
        if (finalEvaluation is { } done && done.TrainingJson == File.ReadAllText(Layout.Training))
        {
            (metrics, testTime) = (done.Metrics, done.Duration);
            log("test: the last epoch's validation evaluated this model on the test split with the test transform and batch; taken, not evaluated again");
        }
        else
        {
            var clock = Stopwatch.StartNew();
            using var loader = Loader(dataset, split.Test, TestPipeline, Spec.Evaluation.TestBatch, shuffle: false);
            metrics = Evaluator.Evaluate(model.Module, loader, dataset.Classes, device, input: input);
            testTime = clock.Elapsed;
        }

        var summary = ModelSummary.Create(model.Module, 3, Spec.Input.Crop, Spec.Input.Crop);
        var platform = NumericsPlatform.Current(device, Spec.Runtime.Numerics);
        AtomicFile.WriteAllText(Layout.Metrics, MetricsJson.Write(Spec.Name, TrainFingerprint, dataHash[..16], metrics, training.History, platform, dataset.SkippedFiles, Spec.Seed, input));
        AtomicFile.WriteAllText(Layout.History, ReportWriter.HistoryCsv(training.History));
        Plots.Curves(Layout.Curves, Spec.Name, training.History);
        Plots.Confusion(Layout.Confusion, Spec.Name, metrics);
        if (Spec.Runtime.TensorBoard)
        {
            var board = TensorBoardLog.ForStage(Layout, "test");
            board.Reset();
            board.Test(metrics, training.History.Count, Layout.Confusion, Spec.Settings());
        }
        var (commit, dirty) = Provenance.Git(run.BaseDirectory);
        var provenance = new Provenance(commit, dirty, TorchRuntime.TorchSharpVersion, TorchRuntime.LibTorchVersion,
            TorchRuntime.DeviceName(device), Spec.Runtime.Threads, RuntimeInformation.OSDescription,
            input.ToString(), TorchRuntime.DeterministicAlgorithms, platform, Spec.Runtime.Numerics);
        var report = new ReportData(
            Experiment: Spec.Name,
            Description: Spec.Description,
            ResolvedConfig: run.Canonical(Stage.Train | Stage.Test),
            ConfigFingerprint: TrainFingerprint,
            DatasetDescription: $"{Spec.Dataset.Name} ({Choice.Name(Spec.Dataset.Kind)}, {dataset.Classes.Count} classes, {dataset.Samples.Count} images)",
            SplitManifestHash: dataHash,
            TrainImages: split.Train.Count,
            TestImages: split.Test.Count,
            TrainingPath: training.Path,
            ModelSummary: summary.Render(),
            Test: metrics,
            History: training.History,
            Provenance: provenance,
            TrainDuration: TimeSpan.FromSeconds(training.Seconds),
            TestDuration: testTime,
            Tutorial: TutorialFigure.Find(Spec.Tutorial),
            Seed: Spec.Seed,
            SkippedImages: Spec.Dataset.SkipCorrupt ? dataset.SkippedFiles : null,
            Classifier: model.Classifier);
        AtomicFile.WriteAllText(Layout.Report, ReportWriter.Write(report));
        return metrics;
    }
}
