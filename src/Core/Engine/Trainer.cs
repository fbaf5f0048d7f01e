using System.Diagnostics;
using Repro.Config;
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
/// <param name="options">Batch, epochs, optimizer, schedule: everything the loop needs, nothing that names a file.</param>
/// <param name="seed">The run's seed: each epoch's dropout (and cached-feature order) stream derives from it.</param>
/// <param name="setTraining">Puts the model in training or evaluation mode (a frozen backbone stays in evaluation mode).</param>
/// <param name="checkpoint">Where epochs are committed and resumed from.</param>
/// <param name="input">The model's input type and layout (default: float32, NCHW).</param>
/// <param name="board">TensorBoard event files for this run's steps and epochs; null: none.</param>
public sealed class Trainer(
    TrainingOptions options,
    ulong seed,
    nn.Module<Tensor, Tensor> model,
    Action<bool> setTraining,
    Device device,
    TrainingCheckpoint checkpoint,
    IProgress<TrainProgress>? progress = null,
    InputFormat? input = null,
    TensorBoardLog? board = null)
{
    private readonly InputFormat input = input ?? InputFormat.Nchw;
    private TimeSpan lastReport;
    private long step;

    /// <summary>Epochs that came from a checkpoint rather than being trained by this call.</summary>
    public int ResumedEpochs { get; private set; }

    /// <summary>
    /// The validation after the last epoch this call trained, with the time it took; null when it trained none. It
    /// is the trained model's evaluation on the validation loader, which the test stage can take instead of evaluating
    /// the same weights on the same batches again.
    /// </summary>
    public (TestMetrics Metrics, TimeSpan Duration)? LastValidation { get; private set; }

    /// <summary>Trains the whole network on <paramref name="train"/>; validation runs on <paramref name="validation"/> after each epoch.</summary>
    /// <param name="cancellation">Checked before every batch; a cancelled run keeps its last complete epoch's
    /// checkpoint, exactly as a killed one does, and the next run resumes from it.</param>
    public IReadOnlyList<EpochRecord> Run(DataLoader train, DataLoader validation, IReadOnlyList<string> classes, CancellationToken cancellation = default)
    {
        long stepsPerEpoch = Math.Max(1, (train.Count + options.Batch - 1) / options.Batch);
        return Epochs(model, setTraining, stepsPerEpoch,
            epoch => train.Epoch(epoch),
            batch => (input.Prepare(batch.Images, device), TorchRuntime.ToDevice(batch.Labels, device)),
            epoch => Evaluator.Evaluate(model, validation, classes, device, epoch, input),
            cancellation);
    }

    /// <summary>
    /// The frozen-backbone fast path (a linear probe): the backbone, in evaluation mode, runs once over both
    /// splits with the evaluation transform, and the head trains on the cached features. Same result as
    /// training the head through a frozen backbone without augmentation, in seconds instead of hours.
    /// </summary>
    /// <param name="validationBatch">Batch size of the per-epoch validation on the cached features.</param>
    public IReadOnlyList<EpochRecord> RunOnCachedFeatures(IClassifier classifier, DataLoader trainEvaluation, DataLoader validation, IReadOnlyList<string> classes,
        int validationBatch, CancellationToken cancellation = default)
    {
        using var features = NewDisposeScope();
        var (trainX, trainY) = ComputeFeatures(classifier, trainEvaluation);
        var (validationX, validationY) = ComputeFeatures(classifier, validation);
        var head = classifier.Classifier;
        long n = trainX.shape[0];
        long stepsPerEpoch = Math.Max(1, (n + options.Batch - 1) / options.Batch);

        IEnumerable<Tensor> Batches(int epoch)
        {
            using var generator = new Generator(SeededRandom.TorchSeed(RandomStream.FeatureOrder, seed, (ulong)epoch) >> 1);
            using var order = randperm(n, generator: generator);
            for (long b = 0; b < stepsPerEpoch; b++)
                yield return order.narrow(0, b * options.Batch, Math.Min(options.Batch, n - b * options.Batch));
        }

        return Epochs(head, t => head.train(t), stepsPerEpoch, Batches,
            slice =>
            {
                var index = slice.to(device);
                return (trainX.index_select(0, index), trainY.index_select(0, index));
            },
            _ => Evaluator.EvaluateFeatures(head, validationX, validationY, classes, validationBatch),
            cancellation);
    }

    /// <summary>
    /// The epoch loop of both paths: per epoch, reseed dropout, train every batch through <paramref name="module"/>,
    /// validate, commit a checkpoint; resumes after the last committed epoch.
    /// </summary>
    private List<EpochRecord> Epochs<TBatch>(nn.Module<Tensor, Tensor> module, Action<bool> train, long stepsPerEpoch,
        Func<int, IEnumerable<TBatch>> batches, Func<TBatch, (Tensor X, Tensor Y)> prepare, Func<int, TestMetrics> validate, CancellationToken cancellation)
    {
        var trainable = module.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = Optimization.Create(options, trainable);
        var history = new List<EpochRecord>();
        int start = ResumedEpochs = checkpoint.Resume(model, optimizer, history);
        AllocateGradients(trainable);
        // A run from scratch replaces the previous run's event file; a resumed one keeps it (the checkpointed epochs'
        // steps are in it) and continues the step count after them.
        if (start == 0)
            board?.Reset();
        step = start * stepsPerEpoch;
        for (int epoch = start; epoch < options.Epochs; epoch++)
        {
            // Dropout draws from LibTorch's generator: reseeding per epoch makes a resumed epoch draw what an
            // uninterrupted one would.
            TorchRuntime.Seed(SeededRandom.TorchSeed(RandomStream.Dropout, seed, (ulong)epoch));
            var clock = Stopwatch.StartNew();
            train(true);
            using var totals = new EpochTotals(device);
            int batchIndex = 0;
            // A frozen backbone in evaluation mode is a constant function: its convolution-BatchNorm pairs run folded,
            // as in evaluation. Per epoch, because the validation below folds and unfolds every pair.
            using (BatchNormFolding.FoldFrozen(module, input.ChannelsLast))
            {
                foreach (var batch in batches(epoch))
                {
                    using var _ = batch as IDisposable;
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    totals.Lr = Optimization.LearningRate(options, epoch * stepsPerEpoch + batchIndex, stepsPerEpoch);
                    var (x, y) = prepare(batch);
                    var (loss, hits) = Step(optimizer, trainable, module, x, y, totals.Lr, options);
                    totals.Add(loss, hits, y.shape[0]);
                    // Reading the loss back waits for the device each step; only done when TensorBoard is on.
                    board?.Step(step, loss.to(float64).cpu().item<double>(), totals.Lr);
                    step++;
                    batchIndex++;
                    Report(epoch, batchIndex, stepsPerEpoch, totals, clock.Elapsed);
                }
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            var validationMetrics = validate(epoch);
            LastValidation = (validationMetrics, TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds - trainSeconds));
            var record = totals.Record(epoch, validationMetrics, clock.Elapsed.TotalSeconds, trainSeconds);
            checkpoint.Save(model, optimizer, history, record);
            board?.Epoch(record);
        }
        train(false);
        return history;
    }

    /// <summary>
    /// One optimisation step at learning rate <paramref name="lr"/>: forward, loss, backward, clipping, update. What
    /// training runs per batch, and what the benchmark times. Returns the detached mean loss and the number of hits.
    /// </summary>
    public static (Tensor Loss, Tensor Hits) Step(optim.Optimizer optimizer, IList<Parameter> trainable, nn.Module<Tensor, Tensor> module, Tensor x, Tensor y,
        double lr, TrainingOptions options)
    {
        Optimization.SetLearningRate(optimizer, lr);
        // The loss in float32 also under bf16: a bfloat16 log-softmax loses too much precision.
        var logits = module.call(x).to(float32);
        var loss = nn.functional.cross_entropy(logits, y, label_smoothing: options.LabelSmoothing);
        optimizer.zero_grad();
        loss.backward();
        if (options.ClipGradNorm > 0)
            nn.utils.clip_grad_norm_(trainable, options.ClipGradNorm);
        optimizer.step();
        return (loss.detach(), logits.detach().argmax(1).eq(y).sum());
    }

    /// <summary>
    /// Gives each trainable parameter without a gradient a zero one before the first step, as <c>zero_grad</c> leaves
    /// every gradient after a step. Allocated before the first activation, the gradients sit together in the heap
    /// rather than in the holes the first backward pass leaves between activations, which the heap then keeps:
    /// ResNet50 training at 64 px, batch 32, peaked at 1,012-1,063 MB without, 959-984 with (PyTorch 1.13: 975-982).
    /// The first backward accumulates into the zeros (0 + g is g, but for the sign of a zero), and every parameter a
    /// Repro model trains takes part in each forward pass (a test checks each architecture, head and freezing), so no
    /// parameter gets an update that a missing gradient would have skipped.
    /// </summary>
    internal static void AllocateGradients(IEnumerable<Parameter> trainable)
    {
        using var noGrad = no_grad();
        foreach (var p in trainable)
        {
            using var grad = p.grad;
            if (grad is not null)
                continue;
            using var zero = zeros_like(p);
            p.grad = zero;
        }
    }

    private (Tensor Features, Tensor Labels) ComputeFeatures(IClassifier classifier, DataLoader loader)
    {
        setTraining(false);
        var features = new List<Tensor>();
        var labels = new List<Tensor>();
        // The backbone in evaluation mode, folded as Evaluator folds it.
        using var folded = BatchNormFolding.Fold(model, input.ChannelsLast);
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
            using var s = new HeldScalars();
            lossSum.add_(meanLoss.to(float64).mul(s.Of(n)), s.Of(1));
            correct.add_(hits, s.Of(1));
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
        progress.Report(new TrainProgress(epoch + 1, options.Epochs, batch, (int)batches, totals.Seen, totals.MeanLoss, perSecond, elapsed, remaining));
    }
}
