using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class DenseNetTests
{
    [Fact]
    public void Densenet121_TenClasses_HasTutorialParameterCount()
    {
        using var model = Zoo.densenet121(numClasses: 10);
        Assert.Equal(6_964_106, model.parameters().Sum(p => p.numel()));
        Assert.Equal(1024, model.FeatureCount);
    }

    [Fact]
    public void Densenet121_ForwardAndBackward_ProducesLogitsAndGradients()
    {
        torch.manual_seed(1);
        using var model = Zoo.densenet121(numClasses: 10);
        using var x = torch.randn(2, 3, 32, 32);
        using var target = torch.tensor(new long[] { 3, 7 });
        using var logits = model.call(x);
        Assert.Equal(new long[] { 2, 10 }, logits.shape);
        using var loss = nn.functional.cross_entropy(logits, target);
        loss.backward();
        var grad = model.named_parameters().Single(p => p.name == "features.conv0.weight").parameter.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void DenseLayer_Forward_ConcatenatesInputAndGrowthChannels()
    {
        using var layer = new DenseLayer(inputFeatures: 64, growthRate: 32, bnSize: 4);
        layer.eval();
        using var x = torch.randn(1, 64, 5, 5);
        using var y = layer.call(x);
        Assert.Equal(new long[] { 1, 96, 5, 5 }, y.shape);
        Assert.True(y.narrow(1, 0, 64).allclose(x, rtol: 0, atol: 0));
    }

    [Theory]
    [InlineData("features.denseblock1.denselayer1.norm.1.weight", "features.denseblock1.denselayer1.norm1.weight")]
    [InlineData("features.denseblock4.denselayer16.conv.2.weight", "features.denseblock4.denselayer16.conv2.weight")]
    [InlineData("features.denseblock2.denselayer3.norm.2.running_var", "features.denseblock2.denselayer3.norm2.running_var")]
    [InlineData("features.denseblock1.denselayer1.norm1.weight", "features.denseblock1.denselayer1.norm1.weight")]
    [InlineData("features.transition1.norm.weight", "features.transition1.norm.weight")]
    [InlineData("features.denseblock1.denselayer1.norm.1.num_batches_tracked", "features.denseblock1.denselayer1.norm.1.num_batches_tracked")]
    public void UpgradeLegacyKey_TorchvisionOriginalName_RenamedAsTorchvision(string legacy, string current)
    {
        Assert.Equal(current, DenseNet.UpgradeLegacyKey(legacy));
    }
}
