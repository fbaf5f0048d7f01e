namespace Repro.Core.Models;

/// <summary>
/// Model factories named as torchvision's (<c>torchvision.models.resnet50</c>, <c>densenet121</c>), so that
/// code ported from Python reads the same. Each architecture lives in its own file.
/// </summary>
public static partial class Zoo
{
    /// <summary>The architectures Repro knows, by the names experiments.yaml uses.</summary>
    public static IReadOnlyList<string> Names { get; } = ["resnet50", "densenet121"];

    /// <summary>Builds an architecture by name with randomly initialised weights.</summary>
    public static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Create(string name, int numClasses) => name switch
    {
        "resnet50" => resnet50(numClasses),
        _ => throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
    };

    /// <summary>ResNet-50 v1.5: Bottleneck blocks (3, 4, 6, 3); 23,528,522 parameters with 10 classes.</summary>
    public static ResNet resnet50(int numClasses = 1000) => new("ResNet", [3, 4, 6, 3], numClasses);
}
