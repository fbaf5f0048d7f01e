using Repro.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public sealed class ModelBuilderTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-builder-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Build_PretrainedSeedHeadFrozenBackbone_LoadsBackboneAndOnlyHeadTrains()
    {
        torch.manual_seed(3);
        using var imagenet = Zoo.densenet121(1000);
        string path = Path.Combine(dir, "imagenet.pth");
        Checkpoint.Save(imagenet, path);

        using var built = ModelBuilder.Build("densenet121", 10, "seed", "backbone", path);

        var loaded = Checkpoint.StateDict(built.Module).ToDictionary(e => e.Name, e => e.Tensor);
        foreach (var (name, expected) in Checkpoint.StateDict(imagenet).Where(e => !e.Name.StartsWith("classifier.", StringComparison.Ordinal)))
            Assert.True(loaded[name].eq(expected).all().item<bool>(), name);
        Assert.IsType<Sequential>(((IClassifier)built.Module).Classifier);
        Assert.Equal(["classifier.0.weight", "classifier.0.bias", "classifier.2.weight", "classifier.2.bias"],
            built.Module.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
        Assert.Equal(1024 * 128 + 128 + 128 * 10 + 10, built.TrainableParameters().Sum(p => p.numel()));
        using var logits = built.Module.call(torch.randn(1, 3, 32, 32));
        Assert.Equal(new long[] { 1, 10 }, logits.shape);
    }

    [Fact]
    public void Build_PretrainedWrongArchitecture_RefusedWithCheckpointError()
    {
        using var densenet = Zoo.densenet121(1000);
        string path = Path.Combine(dir, "densenet.pth");
        Checkpoint.Save(densenet, path);

        var error = Assert.Throws<CheckpointException>(() => ModelBuilder.Build("resnet50", 10, "linear", "none", path));

        Assert.Equal(320, error.Missing.Count);
        Assert.Equal(727, error.Unexpected.Count);
    }

    [Theory]
    [InlineData("resnet50", "linear", "none", 23_528_522)]
    [InlineData("resnet50", "linear", "backbone", 2048 * 10 + 10)]
    [InlineData("densenet121", "linear", "backbone", 1024 * 10 + 10)]
    public void Build_RandomInit_TrainableCountFollowsFreeze(string arch, string head, string freeze, long trainable)
    {
        using var built = ModelBuilder.Build(arch, 10, head, freeze, pretrainedPath: null);
        Assert.Equal(trainable, built.TrainableParameters().Sum(p => p.numel()));
        Assert.Equal(freeze == "backbone", built.FrozenBackbone);
    }

    [Theory]
    [InlineData("vgg16", "linear", "none")]
    [InlineData("resnet50", "mlp", "none")]
    [InlineData("resnet50", "linear", "all")]
    public void Build_UnknownName_Throws(string arch, string head, string freeze)
    {
        Assert.Throws<ArgumentException>(() => ModelBuilder.Build(arch, 10, head, freeze, null));
    }

    [Fact]
    public void SetTrainingMode_FrozenBackbone_BackboneStaysInEvalAndBatchNormStatisticsStay()
    {
        using var built = ModelBuilder.Build("resnet50", 10, "seed", "backbone", null);
        var model = built.Module;
        var runningMean = model.named_buffers().Single(b => b.name == "layer1.0.bn1.running_mean").buffer;
        using var before = runningMean.clone();

        built.SetTrainingMode(true);
        using (torch.no_grad())
            model.call(torch.randn(2, 3, 32, 32) * 3 + 1).Dispose();

        Assert.True(runningMean.eq(before).all().item<bool>());
        var classifier = ((IClassifier)model).Classifier;
        Assert.True(classifier.training);
        Assert.All(classifier.modules(), m => Assert.True(m.training));
        Assert.All(model.named_modules().Where(m => !m.name.StartsWith("fc", StringComparison.Ordinal)), m => Assert.False(m.module.training, m.name));
    }

    [Fact]
    public void SetTrainingMode_FineTuning_EverythingTrainsAndBatchNormStatisticsMove()
    {
        using var built = ModelBuilder.Build("resnet50", 10, "linear", "none", null);
        var model = built.Module;
        var runningMean = model.named_buffers().Single(b => b.name == "layer1.0.bn1.running_mean").buffer;
        using var before = runningMean.clone();

        built.SetTrainingMode(true);
        using (torch.no_grad())
            model.call(torch.randn(2, 3, 32, 32) * 3 + 1).Dispose();

        Assert.False(runningMean.eq(before).all().item<bool>());
        Assert.All(model.modules(), m => Assert.True(m.training));
        built.SetTrainingMode(false);
        Assert.All(model.modules(), m => Assert.False(m.training));
    }
}
