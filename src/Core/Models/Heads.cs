using Repro.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>The classifier heads an experiment can put on a backbone's pooled features.</summary>
public static class Heads
{
    /// <summary>Builds head <paramref name="head"/> for a model's feature width and <paramref name="numClasses"/>.</summary>
    /// <param name="head">One Linear layer, or the tutorial's MLP.</param>
    /// <param name="arch">The architecture: the seed head differs between them.</param>
    /// <param name="featureCount">Width of the pooled features (2048 or 1024).</param>
    /// <param name="numClasses">Number of classes.</param>
    public static Module<Tensor, Tensor> Create(HeadKind head, ModelKind arch, int featureCount, int numClasses) => head switch
    {
        HeadKind.Linear => Linear(featureCount, numClasses),
        HeadKind.Seed => Seed(arch, featureCount, numClasses),
        _ => throw new ArgumentOutOfRangeException(nameof(head), head, null),
    };

    /// <summary>
    /// The tutorial's transfer head: ResNet50 <c>Linear(2048, h) - ReLU - Dropout(0.5) - Linear(h, n)</c>,
    /// DenseNet121 <c>Linear(1024, h) - ReLU - Linear(h, n)</c>, with h from <see cref="SeedHiddenWidth"/>.
    /// Children are named 0, 1, … as in PyTorch's <c>nn.Sequential</c>, so the state_dict keys match the tutorial's.
    /// </summary>
    public static Sequential Seed(ModelKind arch, int featureCount, int numClasses)
    {
        int h = SeedHiddenWidth(featureCount, numClasses);
        return arch switch
        {
            ModelKind.ResNet50 => Sequential(
                ("0", Linear(featureCount, h)), ("1", ReLU(inplace: true)), ("2", Dropout(0.5)), ("3", Linear(h, numClasses))),
            ModelKind.DenseNet121 => Sequential(
                ("0", Linear(featureCount, h)), ("1", ReLU(inplace: true)), ("2", Linear(h, numClasses))),
            _ => throw new ArgumentOutOfRangeException(nameof(arch), arch, null),
        };
    }

    /// <summary>
    /// The tutorial's hidden width <c>h = 2^(log2(F) - floor(log2(int(sqrt(F / n)))))</c> for F features and n
    /// classes: 2^(11 - …) for ResNet50's 2048, 2^(10 - …) for DenseNet121's 1024 (256 and 128 for 10 classes).
    /// </summary>
    public static int SeedHiddenWidth(int featureCount, int numClasses)
    {
        if (numClasses < 1 || numClasses > featureCount)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"the seed head needs 1..{featureCount} classes");
        int log2Features = (int)Math.Round(Math.Log2(featureCount));
        if (1 << log2Features != featureCount)
            throw new ArgumentException($"the seed head's formula needs a power-of-two feature width, not {featureCount}", nameof(featureCount));
        // Python's int() truncates toward zero; the argument is positive.
        int root = (int)Math.Sqrt((double)featureCount / numClasses);
        return 1 << (log2Features - (int)Math.Floor(Math.Log2(root)));
    }
}
