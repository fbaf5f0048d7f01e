using Repro.Core.Data;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>Tests a model: evaluation mode, no gradients, BatchNorm folded into the convolutions before it
/// (<see cref="BatchNormFolding"/>, on a copy of the weights), the evaluation transform (the loader's job).</summary>
public static class Evaluator
{
    /// <param name="input">The model's input type and layout (default: float32, NCHW).</param>
    public static TestMetrics Evaluate(nn.Module<Tensor, Tensor> model, DataLoader loader, IReadOnlyList<string> classes, Device device, int epoch = 0,
        InputFormat? input = null)
    {
        var format = input ?? InputFormat.Nchw;
        var metrics = new MetricsAccumulator(classes);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using var folded = BatchNormFolding.Fold(model, format.ChannelsLast);
            foreach (var batch in loader.Epoch(epoch))
            {
                using var _ = batch;
                using var scope = NewDisposeScope();
                metrics.Add(model.call(format.Prepare(batch.Images, device)), batch.Labels);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return metrics.Result();
    }

    /// <summary>Evaluates a head on cached backbone features (the frozen-backbone fast path).</summary>
    public static TestMetrics EvaluateFeatures(nn.Module<Tensor, Tensor> head, Tensor features, Tensor labels, IReadOnlyList<string> classes, int batchSize)
    {
        var metrics = new MetricsAccumulator(classes);
        bool wasTraining = head.training;
        head.eval();
        try
        {
            using var noGrad = no_grad();
            long n = features.shape[0];
            for (long start = 0; start < n; start += batchSize)
            {
                using var scope = NewDisposeScope();
                long count = Math.Min(batchSize, n - start);
                metrics.Add(head.call(features.narrow(0, start, count)), labels.narrow(0, start, count).cpu());
            }
        }
        finally
        {
            head.train(wasTraining);
        }
        return metrics.Result();
    }
}

/// <summary>Collects the confusion matrix, per-image losses and top-5 hits batch by batch.</summary>
public sealed class MetricsAccumulator(IReadOnlyList<string> classes)
{
    private readonly long[,] confusion = new long[classes.Count, classes.Count];
    private double lossSum;
    private long top5;

    /// <param name="logits">(N, classes) on any device.</param>
    /// <param name="labels">(N) int64 on the CPU.</param>
    public void Add(Tensor logits, Tensor labels)
    {
        var y = labels.to(logits.device);
        logits = logits.to(float32);
        // Per image, summed in double on the host, so the split's mean loss does not depend on how it was batched.
        foreach (var l in nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None).to(float64).cpu().data<double>())
            lossSum += l;
        var predicted = logits.argmax(1).cpu().data<long>().ToArray();
        var truth = labels.data<long>().ToArray();
        for (int i = 0; i < truth.Length; i++)
            confusion[truth[i], predicted[i]]++;
        if (classes.Count > 5)
            top5 += logits.topk(5, dim: 1).indexes.eq(y.unsqueeze(1)).any(1).sum().cpu().item<long>();
    }

    public TestMetrics Result() => new(classes, confusion, lossSum, top5);
}
