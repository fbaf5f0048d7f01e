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
}
