using Repro.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>
/// Model factories named as torchvision's (<c>torchvision.models.resnet50</c>, <c>densenet121</c>), so that
/// code ported from Python reads the same. Each architecture lives in its own file.
/// </summary>
public static partial class Zoo
{
    /// <summary>Builds an architecture with randomly initialised weights.</summary>
    public static nn.Module<Tensor, Tensor> Create(ModelKind architecture, int numClasses) => architecture switch
    {
        ModelKind.ResNet50 => resnet50(numClasses),
        ModelKind.DenseNet121 => densenet121(numClasses),
        _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, null),
    };

    /// <summary>ResNet-50 v1.5: Bottleneck blocks (3, 4, 6, 3); 23,528,522 parameters with 10 classes.</summary>
    public static ResNet resnet50(int numClasses = 1000) => new("ResNet", [3, 4, 6, 3], numClasses);

    /// <summary>
    /// DenseNet-121 (DenseNet-BC): growth 32, blocks (6, 12, 24, 16), 64 initial features, bottleneck width
    /// 4 x growth; 6,964,106 parameters with 10 classes.
    /// </summary>
    public static DenseNet densenet121(int numClasses = 1000) =>
        new("DenseNet", growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64, bnSize: 4, numClasses);
}
