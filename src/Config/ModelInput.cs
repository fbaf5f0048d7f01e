namespace Repro.Config;

/// <summary>
/// The smallest input each architecture accepts, computed from the layers that shrink its feature map.
/// The layer lists live here rather than in src/Core because experiments.yaml is validated (by the build's
/// ReadExperiments task) without TorchSharp; tests in Repro.Core.Tests check each list against the real model:
/// every layer exists there with these sizes, a forward pass at the minimum works and one pixel less fails.
/// Layers that keep the size (3x3 stride-1 padding-1, 1x1 stride-1) and the final adaptive pooling (any size
/// of at least 1x1) do not constrain the input and are left out.
/// </summary>
public static class ModelInput
{
    private static readonly IReadOnlyDictionary<ModelKind, IReadOnlyList<DownsamplingLayer>> Paths = new Dictionary<ModelKind, IReadOnlyList<DownsamplingLayer>>
    {
        // torchvision ResNet-50 v1.5: stem, then the stride-2 3x3 convolution of each later stage's first block
        // (its 1x1 stride-2 shortcut gives the same size, so the main path decides).
        [ModelKind.ResNet50] =
        [
            new("conv1", 7, 2, 3),
            new("maxpool", 3, 2, 1),
            new("layer2.0.conv2", 3, 2, 1),
            new("layer3.0.conv2", 3, 2, 1),
            new("layer4.0.conv2", 3, 2, 1),
        ],
        // torchvision DenseNet-121: stem, then the unpadded 2x2 average pooling of each transition.
        [ModelKind.DenseNet121] =
        [
            new("features.conv0", 7, 2, 3),
            new("features.pool0", 3, 2, 1),
            new("features.transition1.pool", 2, 2, 0),
            new("features.transition2.pool", 2, 2, 0),
            new("features.transition3.pool", 2, 2, 0),
        ],
    };

    /// <summary>The architectures described (every <see cref="ModelKind"/>, which a test checks).</summary>
    public static IEnumerable<ModelKind> Models => Paths.Keys;

    /// <summary>The size-reducing layers of <paramref name="model"/>'s main path, input to output.</summary>
    public static IReadOnlyList<DownsamplingLayer> Layers(ModelKind model) =>
        Paths.TryGetValue(model, out var layers) ? layers : throw new ArgumentException($"no input-size description of model '{Choice.Name(model)}'", nameof(model));

    /// <summary>The side of the last feature map for a square input of <paramref name="crop"/> pixels (0: collapsed).</summary>
    public static int FinalSize(ModelKind model, int crop) =>
        Layers(model).Aggregate(crop, (size, layer) => layer.Output(size));

    /// <summary>
    /// The smallest square input whose feature map stays at least 1x1 through every layer. Each layer's output
    /// never shrinks when its input grows, so the first size that survives is the minimum.
    /// </summary>
    public static int MinimumCrop(ModelKind model)
    {
        int crop = 1;
        while (FinalSize(model, crop) < 1)
            crop++;
        return crop;
    }

    /// <summary>The first layer whose output is empty for <paramref name="crop"/> and the size it receives; null when none.</summary>
    public static (DownsamplingLayer Layer, int Input)? Collapse(ModelKind model, int crop)
    {
        int size = crop;
        foreach (var layer in Layers(model))
        {
            int next = layer.Output(size);
            if (next < 1)
                return (layer, size);
            size = next;
        }
        return null;
    }
}
