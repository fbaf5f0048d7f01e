using Repro.Core.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>Tests a model: evaluation mode, no gradients, the evaluation transform (the loader's job).</summary>
public static class Evaluator
{
    public static TestMetrics Evaluate(nn.Module<Tensor, Tensor> model, DataLoader loader, IReadOnlyList<string> classes, Device device, int epoch = 0) =>
        Evaluate(x => model.call(x), model, loader, classes, device, epoch);

    /// <summary>Evaluates <paramref name="forward"/> (e.g. the head alone on cached features) over a loader.</summary>
    public static TestMetrics Evaluate(Func<Tensor, Tensor> forward, nn.Module model, DataLoader loader, IReadOnlyList<string> classes, Device device, int epoch = 0)
    {
        int n = classes.Count;
        var confusion = new long[n, n];
        double lossSum = 0;
        long top5 = 0;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            foreach (var batch in loader.Epoch(epoch))
            {
                using var scope = NewDisposeScope();
                using var _ = batch;
                var x = batch.Images.to(device);
                var y = batch.Labels.to(device);
                var logits = forward(x).to(float32);
                // Per image, summed in double on the host, so the split's mean loss does not depend on how it was batched.
                foreach (var l in nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.None).to(float64).cpu().data<double>())
                    lossSum += l;
                var predicted = logits.argmax(1).cpu().data<long>().ToArray();
                var truth = batch.Labels.data<long>().ToArray();
                for (int i = 0; i < truth.Length; i++)
                    confusion[truth[i], predicted[i]]++;
                if (n > 5)
                {
                    var top = logits.topk(5, dim: 1).indices;
                    top5 += top.eq(y.unsqueeze(1)).any(1).sum().cpu().item<long>();
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new TestMetrics(classes, confusion, lossSum, top5);
    }
}
