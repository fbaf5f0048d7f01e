using Repro.Config;
namespace Repro.Config.Tests;

/// <summary>The minimum input size computed from each architecture's downsampling layers.</summary>
public sealed class ModelInputTests
{
    [Theory]
    // ResNet-50's padded stride-2 layers never empty a map of at least 1 pixel: 1 -> 1 -> 1 ...
    [InlineData(ModelKind.ResNet50, 1)]
    // DenseNet-121: 29 -> conv0 15 -> pool0 8 -> 4 -> 2 -> 1; 28 -> 14 -> 7 -> 3 -> 1 -> 0.
    [InlineData(ModelKind.DenseNet121, 29)]
    public void MinimumCrop_Architecture_SmallestSizeWithNonEmptyFeatureMap(ModelKind model, int expected)
    {
        Assert.Equal(expected, ModelInput.MinimumCrop(model));
        Assert.Equal(1, ModelInput.FinalSize(model, expected));
        Assert.Null(ModelInput.Collapse(model, expected));
        if (expected > 1)
            Assert.Equal(0, ModelInput.FinalSize(model, expected - 1));
    }

    [Theory]
    [InlineData(ModelKind.ResNet50, 224, 7)]
    [InlineData(ModelKind.DenseNet121, 224, 7)]
    [InlineData(ModelKind.DenseNet121, 32, 1)]
    public void FinalSize_UsualCrops_MatchesTorchvisionFeatureMaps(ModelKind model, int crop, int expected) =>
        Assert.Equal(expected, ModelInput.FinalSize(model, crop));

    [Fact]
    public void Collapse_DenseNetCrop28_NamesLastTransitionPool()
    {
        var (layer, input) = ModelInput.Collapse(ModelKind.DenseNet121, 28)!.Value;

        Assert.Equal("features.transition3.pool", layer.Name);
        Assert.Equal(1, input);
    }

    [Fact]
    public void Models_EveryModelKind_IsDescribed() =>
        Assert.Equal(Enum.GetValues<ModelKind>().Order(), ModelInput.Models.Order());
}
