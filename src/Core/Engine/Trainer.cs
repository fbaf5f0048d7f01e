using System.Diagnostics;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Data;
using Repro.Core.IO;
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
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0;
            double lr = 0;
            foreach (var batch in train.Epoch(epoch))
            {
                using var _ = batch;
                using var scope = NewDisposeScope();
                lr = Optimization.LearningRate(experiment, epoch * stepsPerEpoch + batchIndex, stepsPerEpoch);
                Optimization.SetLearningRate(optimizer, lr);
                var x = batch.Images.to(device);
                var y = batch.Labels.to(device);
                var logits = model.call(x);
                var loss = nn.functional.cross_entropy(logits, y, label_smoothing: experiment.LabelSmoothing);
                optimizer.zero_grad();
                loss.backward();
                if (experiment.ClipGradNorm > 0)
                    nn.utils.clip_grad_norm_(trainable, experiment.ClipGradNorm);
                optimizer.step();

                long n = batch.Labels.shape[0];
                lossSum += loss.to(float64).cpu().item<double>() * n;
                correct += logits.argmax(1).eq(y).sum().cpu().item<long>();
                seen += n;
                batchIndex++;
                Report(epoch, batchIndex, stepsPerEpoch, seen, lossSum / seen, clock.Elapsed);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = Evaluator.Evaluate(model, validation, classes, device, epoch);
            history.Add(new EpochRecord(epoch + 1, lossSum / Math.Max(1, seen), (double)correct / Math.Max(1, seen),
                validationMetrics.Loss, validationMetrics.Accuracy, lr, clock.Elapsed.TotalSeconds, seen / Math.Max(1e-9, trainSeconds)));
            SaveCheckpoint(optimizer, epoch + 1, history);
        }
        setTraining(false);
        return history;
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
    private void SaveCheckpoint(optim.Optimizer optimizer, int epoch, List<EpochRecord> history)
    {
        AtomicFile.WriteVia(ModelPath(epoch), p => model.save(p));
        AtomicFile.WriteVia(OptimizerPath(epoch), p => optimizer.save_state_dict(p));
        AtomicFile.WriteAllText(StatePath, JsonSerializer.Serialize(new CheckpointState(configFingerprint, epoch, history)));
        foreach (var old in Directory.EnumerateFiles(checkpointDirectory, "*-*.bin"))
            if (old != ModelPath(epoch) && old != OptimizerPath(epoch))
                File.Delete(old);
    }

    private int Resume(optim.Optimizer optimizer, List<EpochRecord> history)
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
