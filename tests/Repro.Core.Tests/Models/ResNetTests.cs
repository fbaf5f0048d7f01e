using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class ResNetTests
{
    [Fact]
    public void Resnet50_ForwardAndBackward_ProducesLogitsAndGradients()
    {
        torch.manual_seed(1);
        using var model = Zoo.resnet50(numClasses: 10);
        using var x = torch.randn(2, 3, 32, 32);
        using var target = torch.tensor(new long[] { 3, 7 });
        using var logits = model.call(x);
        Assert.Equal(new long[] { 2, 10 }, logits.shape);
        using var loss = nn.functional.cross_entropy(logits, target);
        loss.backward();
        var grad = model.parameters().First().grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Resnet50_TenClasses_HasTutorialParameterCount()
    {
        using var model = Zoo.resnet50(numClasses: 10);
        Assert.Equal(23_528_522, model.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Bottleneck_LesionedInsideSequential_PassesInputThroughUndisposed()
    {
        // Sequential disposes each module's input after the module returns; a lesioned block must not return it.
        using var first = new Bottleneck(256, 64, 1, null) { Lesioned = true };
        using var second = new Bottleneck(256, 64, 1, null) { Lesioned = true };
        using var third = new Bottleneck(256, 64, 1, null);
        using var layer = nn.Sequential(("0", first), ("1", second), ("2", third));
        layer.eval();
        using var x = torch.randn(1, 256, 4, 4);
        using var expected = third.call(x);

        using var y = layer.call(x);

        Assert.True(y.eq(expected).all().item<bool>());
        Assert.Equal(x.shape, y.shape);
    }

    [Fact]
    public void Resnet50_LesionedBlock_ChangesLogitsButKeepsShape()
    {
        torch.manual_seed(2);
        using var model = Zoo.resnet50(numClasses: 10);
        model.eval();
        using var x = torch.randn(1, 3, 32, 32);
        using var intact = model.call(x);
        var (name, block) = model.Blocks.Single(b => b.Name == "layer3.2");
        Assert.True(block.HasIdentityShortcut);

        block.Lesioned = true;
        using var lesioned = model.call(x);

        Assert.Equal(intact.shape, lesioned.shape);
        Assert.False(lesioned.allclose(intact));
        Assert.Equal(16, model.Blocks.Count);
        Assert.Equal(4, model.Blocks.Count(b => !b.Block.HasIdentityShortcut));
    }
}
