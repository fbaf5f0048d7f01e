using System.Runtime.InteropServices;
using Repro.Config;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

/// <summary>
/// Checks Repro.Config's <see cref="ModelInput"/> layer lists, which validation uses without TorchSharp, against
/// the real models: every listed layer shrinks a map exactly as listed, every other convolution and pooling keeps
/// its size, and a forward pass works at the computed minimum and fails one pixel below it.
/// </summary>
public sealed class ModelInputTests
{
    // The 1x1 stride-2 shortcut of a ResNet stage's first block runs beside the main path; the addition after
    // it needs both to agree, and the forward passes below check that they do.
    private static bool IsShortcut(string name) => name.EndsWith(".downsample.0", StringComparison.Ordinal);

    /// <summary>The side of the map <paramref name="layer"/> gives for an <paramref name="size"/> x <paramref name="size"/> input; 0 when LibTorch refuses it.</summary>
    private static long Probe(nn.Module<Tensor, Tensor> layer, long channels, int size)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        try
        {
            return layer.call(zeros(1, channels, size, size)).shape[2];
        }
        catch (ExternalException)
        {
            return 0;
        }
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet121")]
    public void Layers_EveryConvolutionAndPooling_ShrinksExactlyAsListed(string arch)
    {
        using var model = Zoo.Create(Choice.Parse<ModelKind>(arch), 10);
        var listed = ModelInput.Layers(Choice.Parse<ModelKind>(arch)).ToDictionary(l => l.Name);
        var seen = new List<string>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not (Conv2d or MaxPool2d or AvgPool2d) || IsShortcut(name))
                continue;
            var layer = (nn.Module<Tensor, Tensor>)module;
            long channels = module is Conv2d conv ? conv.weight!.shape[1] : 1;
            foreach (int size in new[] { 1, 2, 3, 4, 5, 8, 13 })
            {
                long expected = listed.TryGetValue(name, out var spec) ? spec.Output(size) : size;
                Assert.True(Probe(layer, channels, size) == expected, $"{arch} {name}: {size}x{size} in, expected {expected}");
            }
            if (listed.ContainsKey(name))
                seen.Add(name);
        }
        Assert.Equal(listed.Keys, seen);
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("densenet121")]
    public void MinimumCrop_ForwardPass_WorksAtMinimumAndFailsBelow(string arch)
    {
        using var model = Zoo.Create(Choice.Parse<ModelKind>(arch), 10);
        model.eval();
        int minimum = ModelInput.MinimumCrop(Choice.Parse<ModelKind>(arch));

        Assert.Equal(2, Forward(model, minimum));
        if (minimum > 1)
            Assert.ThrowsAny<ExternalException>(() => Forward(model, minimum - 1));
    }

    private static long Forward(nn.Module<Tensor, Tensor> model, int crop)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.call(zeros(2, 3, crop, crop)).shape[0];
    }
}
