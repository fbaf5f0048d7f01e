using Repro.Config;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class HeadsTests
{
    [Theory]
    [InlineData(2048, 10, 256)]
    [InlineData(1024, 10, 128)]
    [InlineData(2048, 5, 128)]   // int(sqrt(409.6)) = 20 -> 2^(11-4)
    [InlineData(1024, 37, 256)]  // int(sqrt(27.7)) = 5 -> 2^(10-2)
    [InlineData(2048, 2048, 2048)]
    [InlineData(2048, 1, 64)]    // int(sqrt(2048)) = 45 -> 2^(11-5)
    public void SeedHiddenWidth_TutorialFormula_GivesPowerOfTwo(int features, int classes, int hidden)
    {
        Assert.Equal(hidden, Heads.SeedHiddenWidth(features, classes));
    }

    [Fact]
    public void Seed_Resnet50_IsLinearReluDropoutLinear()
    {
        using var head = Heads.Seed(ModelKind.ResNet50, 2048, 10);
        Assert.Equal(["Linear", "ReLU", "Dropout", "Linear"], head.children().Select(c => c.GetType().Name));
        Assert.Equal(2048 * 256 + 256 + 256 * 10 + 10, head.parameters().Sum(p => p.numel()));
        Assert.Equal(["0.weight", "0.bias", "3.weight", "3.bias"], head.state_dict().Keys);
    }

    [Fact]
    public void Seed_Densenet121_IsLinearReluLinear()
    {
        using var head = Heads.Seed(ModelKind.DenseNet121, 1024, 10);
        Assert.Equal(["Linear", "ReLU", "Linear"], head.children().Select(c => c.GetType().Name));
        Assert.Equal(1024 * 128 + 128 + 128 * 10 + 10, head.parameters().Sum(p => p.numel()));
    }
}
