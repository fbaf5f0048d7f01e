using System.Diagnostics;
using System.Text.Json;
using Repro.Config;
using Repro.Config.IO;
using Repro.Core.Data;
using Repro.Core.Models;
using Repro.Core.Reports;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = Repro.Core.Data.DataLoader;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>
/// Trains a model epoch by epoch, checkpointing after each so that a killed run resumes from the last
/// complete epoch and ends with the same bytes as an uninterrupted one.
/// </summary>
public sealed class Trainer
{
    private readonly Experiment experiment;
    private readonly nn.Module<Tensor, Tensor> model;
    private readonly Action<bool> setTraining;
    private readonly Device device;
    private readonly string checkpointDirectory;
    private readonly string configFingerprint;
    private readonly IProgress<TrainProgress>? progress;
    private readonly InputFormat input;
    private readonly TensorBoardLog? board;
    private TimeSpan lastReport;
    private long step;

    /// <param name="setTraining">Puts the model in training or evaluation mode (a frozen backbone stays in evaluation mode).</param>
    /// <param name="configFingerprint">Identifies the training configuration; a checkpoint of another one is refused.</param>
    /// <param name="input">The model's input type and layout (default: float32, NCHW).</param>
    /// <param name="board">TensorBoard event files for this run's steps and epochs; null: none.</param>
    public Trainer(Experiment experiment, nn.Module<Tensor, Tensor> model, Action<bool> setTraining, Device device,
        string checkpointDirectory, string configFingerprint, IProgress<TrainProgress>? progress = null, InputFormat? input = null,
        TensorBoardLog? board = null)
    {
        this.board = board;
        this.input = input ?? InputFormat.Default;
        this.experiment = experiment;
        this.model = model;
        this.setTraining = setTraining;
        this.device = device;
        this.checkpointDirectory = checkpointDirectory;
        this.configFingerprint = configFingerprint;
        this.progress = progress;
    }

    /// <summary>Trains for the experiment's epochs; validation runs on <paramref name="validation"/> after each.</summary>
    /// <param name="cancellation">Checked before every batch; a cancelled run keeps its last complete epoch's
    /// checkpoint, exactly as a killed one does, and the next run resumes from it.</param>
    public IReadOnlyList<EpochRecord> Run(DataLoader train, DataLoader validation, IReadOnlyList<string> classes, CancellationToken cancellation = default)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = Optimization.Create(experiment, trainable);
        var history = new List<EpochRecord>();
        int start = Resume(optimizer, history);

        long stepsPerEpoch = Math.Max(1, (train.Count + experiment.Batch - 1) / experiment.Batch);
        StartBoard(start, stepsPerEpoch);
        for (int epoch = start; epoch < experiment.Epochs; epoch++)
        {
            // Dropout draws from LibTorch's generator: reseeding per epoch makes a resumed epoch draw what an
            // uninterrupted one would.
            TorchRuntime.Seed(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0xD5));
            var clock = Stopwatch.StartNew();
            setTraining(true);
            using var totals = new EpochTotals(device);
            int batchIndex = 0;
            foreach (var batch in train.Epoch(epoch))
            {
                using var _ = batch;
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                totals.Lr = Optimization.LearningRate(experiment, epoch * stepsPerEpoch + batchIndex, stepsPerEpoch);
                Step(optimizer, trainable, model, input.Prepare(batch.Images, device), TorchRuntime.ToDevice(batch.Labels, device), totals);
                batchIndex++;
                Report(epoch, batchIndex, stepsPerEpoch, totals, clock.Elapsed);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = Evaluator.Evaluate(model, validation, classes, device, epoch, input);
            SaveCheckpoint(optimizer, epoch + 1, history, totals.Record(epoch, validationMetrics, clock.Elapsed.TotalSeconds, trainSeconds));
        }
        setTraining(false);
        return history;
    }

    /// <summary>
    /// The frozen-backbone fast path (a linear probe): the backbone, in evaluation mode, runs once over both
    /// splits with the evaluation transform, and the head trains on the cached features. Same result as
    /// training the head through a frozen backbone without augmentation, in seconds instead of hours.
    /// </summary>
    public IReadOnlyList<EpochRecord> RunOnCachedFeatures(IClassifier classifier, DataLoader trainEvaluation, DataLoader validation, IReadOnlyList<string> classes, CancellationToken cancellation = default)
    {
        using var features = NewDisposeScope();
        var (trainX, trainY) = ComputeFeatures(classifier, trainEvaluation);
        var (validationX, validationY) = ComputeFeatures(classifier, validation);
        var head = classifier.Classifier;
        var trainable = head.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = Optimization.Create(experiment, trainable);
        var history = new List<EpochRecord>();
        int start = Resume(optimizer, history);

        long n = trainX.shape[0];
        long stepsPerEpoch = Math.Max(1, (n + experiment.Batch - 1) / experiment.Batch);
        StartBoard(start, stepsPerEpoch);
        for (int epoch = start; epoch < experiment.Epochs; epoch++)
        {
            TorchRuntime.Seed(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0xD5));
            var clock = Stopwatch.StartNew();
            head.train();
            using var totals = new EpochTotals(device);
            using var generator = new Generator(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0x5EED) >> 1);
            using var order = randperm(n, generator: generator);
            for (long b = 0; b < stepsPerEpoch; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var index = order.narrow(0, b * experiment.Batch, Math.Min(experiment.Batch, n - b * experiment.Batch)).to(device);
                totals.Lr = Optimization.LearningRate(experiment, epoch * stepsPerEpoch + b, stepsPerEpoch);
                Step(optimizer, trainable, head, trainX.index_select(0, index), trainY.index_select(0, index), totals);
                Report(epoch, (int)b + 1, stepsPerEpoch, totals, clock.Elapsed);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = Evaluator.EvaluateFeatures(head, validationX, validationY, classes, experiment.TestBatch);
            SaveCheckpoint(optimizer, epoch + 1, history, totals.Record(epoch, validationMetrics, clock.Elapsed.TotalSeconds, trainSeconds));
        }
        head.eval();
        return history;
    }

    /// <summary>
    /// A run from scratch replaces the previous run's event file; a resumed one keeps it (the checkpointed epochs'
    /// steps are in it) and continues the step count after them.
    /// </summary>
    private void StartBoard(int startEpoch, long stepsPerEpoch)
    {
        if (startEpoch == 0)
            board?.Reset();
        step = startEpoch * stepsPerEpoch;
    }

    private (Tensor Features, Tensor Labels) ComputeFeatures(IClassifier classifier, DataLoader loader)
    {
        setTraining(false);
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        using (no_grad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var _ = batch;
                features.Add(classifier.Features(input.Prepare(batch.Images, device)).detach());
                labels.Add(TorchRuntime.ToDevice(batch.Labels, device));
            }
        }
        return (cat(features, 0), cat(labels, 0));
    }

    private void Step(optim.Optimizer optimizer, IList<Parameter> trainable, nn.Module<Tensor, Tensor> module, Tensor x, Tensor y, EpochTotals totals)
    {
        Optimization.SetLearningRate(optimizer, totals.Lr);
        // The loss in float32 also under bf16: a bfloat16 log-softmax loses too much precision.
        var logits = module.call(x).to(float32);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: experiment.LabelSmoothing);
        optimizer.zero_grad();
        loss.backward();
        if (experiment.ClipGradNorm > 0)
            nn.utils.clip_grad_norm_(trainable, experiment.ClipGradNorm);
        optimizer.step();
        totals.Add(loss.detach(), logits.detach().argmax(1).eq(y).sum(), y.shape[0]);
        // Reading the loss back waits for the device each step; only done when TensorBoard is on.
        board?.Step(step, loss.detach().to(float64).cpu().item<double>(), totals.Lr);
        step++;
    }

    /// <summary>
    /// An epoch's running loss and hits, summed on the model's device: reading them back every batch would make
    /// the host wait for the device each step. Adding in float64 on the device gives the same bits as on the host.
    /// </summary>
    private sealed class EpochTotals(Device device) : IDisposable
    {
        private readonly Tensor lossSum = zeros(1, float64, device);
        private readonly Tensor correct = zeros(1, int64, device);

        public long Seen { get; private set; }

        public double Lr { get; set; }

        public void Add(Tensor meanLoss, Tensor hits, long n)
        {
            using var scope = NewDisposeScope();
            lossSum.add_(meanLoss.to(float64).mul(n));
            correct.add_(hits);
            Seen += n;
        }

        public double MeanLoss => lossSum.cpu().item<double>() / Math.Max(1, Seen);

        public EpochRecord Record(int epoch, TestMetrics validation, double seconds, double trainSeconds) =>
            new(epoch + 1, MeanLoss, (double)correct.cpu().item<long>() / Math.Max(1, Seen), validation.Loss, validation.Accuracy,
                Lr, seconds, Seen / Math.Max(1e-9, trainSeconds));

        public void Dispose()
        {
            lossSum.Dispose();
            correct.Dispose();
        }
    }

    /// <summary>
    /// At an epoch's first and last batch and at most every quarter second between: each report reads the running
    /// loss back from the device.
    /// </summary>
    private void Report(int epoch, int batch, long batches, EpochTotals totals, TimeSpan elapsed)
    {
        if (progress is null)
            return;
        if (batch != 1 && batch != batches && elapsed - lastReport < TimeSpan.FromSeconds(0.25))
            return;
        lastReport = batch == batches ? TimeSpan.Zero : elapsed;
        double perSecond = totals.Seen / Math.Max(1e-9, elapsed.TotalSeconds);
        var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds / batch * (batches - batch));
        progress.Report(new TrainProgress(epoch + 1, experiment.Epochs, batch, (int)batches, totals.Seen, totals.MeanLoss, perSecond, elapsed, remaining));
    }

    private sealed record CheckpointState(string Config, int Epoch, List<EpochRecord> History);

    private string StatePath => Path.Combine(checkpointDirectory, "state.json");

    private string ModelPath(int epoch) => Path.Combine(checkpointDirectory, $"model-{epoch:D4}.bin");

    private string OptimizerPath(int epoch) => Path.Combine(checkpointDirectory, $"optimizer-{epoch:D4}.bin");

    /// <summary>Model and optimizer go first under epoch-numbered names; state.json, renamed in last, commits the epoch.</summary>
    /// <param name="record">The finished epoch, completed here with the resident memory after saving.</param>
    private void SaveCheckpoint(TorchSharp.Modules.OptimizerHelper optimizer, int epoch, List<EpochRecord> history, EpochRecord record)
    {
        AtomicFile.WriteVia(ModelPath(epoch), p => model.save(p));
        AtomicFile.WriteVia(OptimizerPath(epoch), p => optimizer.save_state_dict(p));
        // Measured at the same point of every epoch, after the checkpoint's buffers are gone, so growth from one
        // epoch to the next shows a leak rather than a transient peak.
        history.Add(record with { ResidentMegabytes = ResidentMemory.Megabytes() });
        board?.Epoch(record);
        AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(new CheckpointState(configFingerprint, epoch, history)));
        foreach (var old in Directory.EnumerateFiles(checkpointDirectory, "*-*.bin"))
            if (old != ModelPath(epoch) && old != OptimizerPath(epoch))
                File.Delete(old);
    }

    /// <summary>Epochs that came from a checkpoint rather than being trained by this call.</summary>
    public int ResumedEpochs { get; private set; }

    private int Resume(TorchSharp.Modules.OptimizerHelper optimizer, List<EpochRecord> history)
    {
        if (!File.Exists(StatePath))
            return 0;
        CheckpointState? state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(StatePath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{StatePath}: unreadable checkpoint state ({e.Message}); delete the folder to start over.", e);
        }
        if (state is null)
            return 0;
        if (state.Config != configFingerprint)
            throw new InvalidDataException(
                $"{StatePath}: the checkpoint was written for another configuration (fingerprint {state.Config}, now {configFingerprint}); " +
                "it is not resumed. Delete the folder (or build with -p:Force=true) to train from scratch.");
        if (state.Epoch > experiment.Epochs)
            throw new InvalidDataException($"{StatePath}: the checkpoint is at epoch {state.Epoch}, beyond the {experiment.Epochs} epochs asked for.");
        model.load(ModelPath(state.Epoch));
        optimizer.load_state_dict(OptimizerPath(state.Epoch));
        history.AddRange(state.History);
        ResumedEpochs = state.Epoch;
        return state.Epoch;
    }
}
