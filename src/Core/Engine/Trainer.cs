using System.Diagnostics;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Data;
using Repro.Core.IO;
using Repro.Core.Models;
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

    /// <param name="setTraining">Puts the model in training or evaluation mode (a frozen backbone stays in evaluation mode).</param>
    /// <param name="configFingerprint">Identifies the training configuration; a checkpoint of another one is refused.</param>
    public Trainer(Experiment experiment, nn.Module<Tensor, Tensor> model, Action<bool> setTraining, Device device,
        string checkpointDirectory, string configFingerprint, IProgress<TrainProgress>? progress = null)
    {
        this.experiment = experiment;
        this.model = model;
        this.setTraining = setTraining;
        this.device = device;
        this.checkpointDirectory = checkpointDirectory;
        this.configFingerprint = configFingerprint;
        this.progress = progress;
    }

    /// <summary>Trains for the experiment's epochs; validation runs on <paramref name="validation"/> after each.</summary>
    public IReadOnlyList<EpochRecord> Run(DataLoader train, DataLoader validation, IReadOnlyList<string> classes)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = Optimization.Create(experiment, trainable);
        var history = new List<EpochRecord>();
        int start = Resume(optimizer, history);

        long stepsPerEpoch = Math.Max(1, (train.Count + experiment.Batch - 1) / experiment.Batch);
        for (int epoch = start; epoch < experiment.Epochs; epoch++)
        {
            // Dropout draws from LibTorch's generator: reseeding per epoch makes a resumed epoch draw what an
            // uninterrupted one would.
            TorchRuntime.Seed(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0xD5));
            var clock = Stopwatch.StartNew();
            setTraining(true);
            var totals = new EpochTotals();
            int batchIndex = 0;
            foreach (var batch in train.Epoch(epoch))
            {
                using var _ = batch;
                using var scope = NewDisposeScope();
                totals.Lr = Optimization.LearningRate(experiment, epoch * stepsPerEpoch + batchIndex, stepsPerEpoch);
                Step(optimizer, trainable, model, TorchRuntime.ToDevice(batch.Images, device), TorchRuntime.ToDevice(batch.Labels, device), totals);
                batchIndex++;
                Report(epoch, batchIndex, stepsPerEpoch, totals.Seen, totals.LossSum / totals.Seen, clock.Elapsed);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = Evaluator.Evaluate(model, validation, classes, device, epoch);
            history.Add(totals.Record(epoch, validationMetrics, clock.Elapsed.TotalSeconds, trainSeconds));
            SaveCheckpoint(optimizer, epoch + 1, history);
        }
        setTraining(false);
        return history;
    }

    /// <summary>
    /// The frozen-backbone fast path (a linear probe): the backbone, in evaluation mode, runs once over both
    /// splits with the evaluation transform, and the head trains on the cached features. Same result as
    /// training the head through a frozen backbone without augmentation, in seconds instead of hours.
    /// </summary>
    public IReadOnlyList<EpochRecord> RunOnCachedFeatures(IClassifier classifier, DataLoader trainEvaluation, DataLoader validation, IReadOnlyList<string> classes)
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
        for (int epoch = start; epoch < experiment.Epochs; epoch++)
        {
            TorchRuntime.Seed(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0xD5));
            var clock = Stopwatch.StartNew();
            head.train();
            var totals = new EpochTotals();
            using var generator = new Generator(TorchRuntime.Derive(experiment.Seed, (ulong)epoch, 0x5EED) >> 1);
            using var order = randperm(n, generator: generator);
            for (long b = 0; b < stepsPerEpoch; b++)
            {
                using var scope = NewDisposeScope();
                var index = order.narrow(0, b * experiment.Batch, Math.Min(experiment.Batch, n - b * experiment.Batch)).to(device);
                totals.Lr = Optimization.LearningRate(experiment, epoch * stepsPerEpoch + b, stepsPerEpoch);
                Step(optimizer, trainable, head, trainX.index_select(0, index), trainY.index_select(0, index), totals);
                Report(epoch, (int)b + 1, stepsPerEpoch, totals.Seen, totals.LossSum / totals.Seen, clock.Elapsed);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = Evaluator.EvaluateFeatures(head, validationX, validationY, classes, experiment.TestBatch);
            history.Add(totals.Record(epoch, validationMetrics, clock.Elapsed.TotalSeconds, trainSeconds));
            SaveCheckpoint(optimizer, epoch + 1, history);
        }
        head.eval();
        return history;
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
                features.Add(classifier.Features(TorchRuntime.ToDevice(batch.Images, device)).detach());
                labels.Add(TorchRuntime.ToDevice(batch.Labels, device));
            }
        }
        return (cat(features, 0), cat(labels, 0));
    }

    private void Step(optim.Optimizer optimizer, IList<Parameter> trainable, nn.Module<Tensor, Tensor> module, Tensor x, Tensor y, EpochTotals totals)
    {
        Optimization.SetLearningRate(optimizer, totals.Lr);
        var logits = module.call(x);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: experiment.LabelSmoothing);
        optimizer.zero_grad();
        loss.backward();
        if (experiment.ClipGradNorm > 0)
            nn.utils.clip_grad_norm_(trainable, experiment.ClipGradNorm);
        optimizer.step();
        long n = y.shape[0];
        totals.LossSum += loss.to(float64).cpu().item<double>() * n;
        totals.Correct += logits.argmax(1).eq(y).sum().cpu().item<long>();
        totals.Seen += n;
    }

    private sealed class EpochTotals
    {
        public double LossSum;
        public long Correct;
        public long Seen;
        public double Lr;

        public EpochRecord Record(int epoch, TestMetrics validation, double seconds, double trainSeconds) =>
            new(epoch + 1, LossSum / Math.Max(1, Seen), (double)Correct / Math.Max(1, Seen), validation.Loss, validation.Accuracy,
                Lr, seconds, Seen / Math.Max(1e-9, trainSeconds));
    }

    private void Report(int epoch, int batch, long batches, long images, double loss, TimeSpan elapsed)
    {
        if (progress is null)
            return;
        double perSecond = images / Math.Max(1e-9, elapsed.TotalSeconds);
        var remaining = TimeSpan.FromSeconds(elapsed.TotalSeconds / batch * (batches - batch));
        progress.Report(new TrainProgress(epoch + 1, experiment.Epochs, batch, (int)batches, images, loss, perSecond, elapsed, remaining));
    }

    private sealed record CheckpointState(string Config, int Epoch, List<EpochRecord> History);

    private string StatePath => Path.Combine(checkpointDirectory, "state.json");

    private string ModelPath(int epoch) => Path.Combine(checkpointDirectory, $"model-{epoch:D4}.bin");

    private string OptimizerPath(int epoch) => Path.Combine(checkpointDirectory, $"optimizer-{epoch:D4}.bin");

    /// <summary>Model and optimizer go first under epoch-numbered names; state.json, renamed in last, commits the epoch.</summary>
    private void SaveCheckpoint(TorchSharp.Modules.OptimizerHelper optimizer, int epoch, List<EpochRecord> history)
    {
        AtomicFile.WriteVia(ModelPath(epoch), p => model.save(p));
        AtomicFile.WriteVia(OptimizerPath(epoch), p => optimizer.save_state_dict(p));
        AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(new CheckpointState(configFingerprint, epoch, history)));
        foreach (var old in Directory.EnumerateFiles(checkpointDirectory, "*-*.bin"))
            if (old != ModelPath(epoch) && old != OptimizerPath(epoch))
                File.Delete(old);
    }

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
        return state.Epoch;
    }
}
