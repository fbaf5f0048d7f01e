using Repro.Config;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

// Seeds LibTorch's process-wide generator and compares what two seeded builds draw: alone, not beside parallel tests.
[Collection(Engine.LibTorchCollection.Name)]
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

        using var built = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.Backbone, path);

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

        var error = Assert.Throws<CheckpointException>(() => ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Linear, FreezeMode.None, path));

        // 320 ResNet entries less fc.weight and fc.bias: the file has no 2048-feature classifier, so the model's is
        // replaced and only the backbone must match.
        Assert.Equal(318, error.Missing.Count);
        Assert.Equal(727, error.Unexpected.Count);
    }

    private string SaveDensenet(int classes, int seed, string name, Func<(string Name, Tensor Tensor), bool>? keep = null, (string, Tensor)? extra = null)
    {
        torch.manual_seed(seed);
        using var model = Zoo.densenet121(classes);
        string path = Path.Combine(dir, name);
        var dict = new System.Collections.Specialized.OrderedDictionary();
        foreach (var (key, tensor) in Checkpoint.StateDict(model).Where(keep ?? (_ => true)))
            dict.Add(key, tensor);
        if (extra is var (extraName, extraTensor))
            dict.Add(extraName, extraTensor);
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, dict);
        return path;
    }

    private static void AssertSameEntries(nn.Module model, string path, string except)
    {
        var loaded = Checkpoint.ReadFile(path);
        try
        {
            var actual = Checkpoint.StateDict(model).ToDictionary(e => e.Name, e => e.Tensor);
            foreach (var (name, expected) in loaded.Where(e => !e.Key.StartsWith(except, StringComparison.Ordinal)))
                Assert.True(actual[name].eq(expected).all().item<bool>(), name);
        }
        finally
        {
            foreach (var t in loaded.Values)
                t.Dispose();
        }
    }

    [Fact]
    public void Build_PretrainedLinearSameClassCount_KeepsCheckpointClassifier()
    {
        string path = SaveDensenet(7, 1, "seven.pth");

        using var built = ModelBuilder.Build(ModelKind.DenseNet121, 7, HeadKind.Linear, FreezeMode.None, path);

        Assert.Equal("classifier from the checkpoint (classifier, 7 classes)", built.Classifier);
        AssertSameEntries(built.Module, path, except: "none");
    }

    [Fact]
    public void Build_PretrainedOtherClassCount_LoadsBackboneReplacesClassifierAndSaysSo()
    {
        string path = SaveDensenet(7, 1, "seven.pth");

        using var built = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Linear, FreezeMode.None, path);

        Assert.Equal("new head: linear, 10 classes; checkpoint's 7-class classifier dropped", built.Classifier);
        AssertSameEntries(built.Module, path, except: "classifier.");
        using var logits = built.Module.call(torch.randn(1, 3, 32, 32));
        Assert.Equal(new long[] { 1, 10 }, logits.shape);
    }

    [Fact]
    public void Build_PretrainedSeedHeadWithLinearClassifierOfSameCount_NewSeedHead()
    {
        string path = SaveDensenet(10, 1, "ten.pth");

        using var built = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.None, path);

        Assert.Equal("new head: seed MLP, 10 classes; checkpoint's 10-class classifier dropped", built.Classifier);
        Assert.IsType<Sequential>(((IClassifier)built.Module).Classifier);
    }

    [Fact]
    public void Build_PretrainedWithoutClassifier_NewHeadSaysCheckpointHasNone()
    {
        string path = SaveDensenet(7, 1, "backbone.pth", e => !e.Name.StartsWith("classifier.", StringComparison.Ordinal));

        using var built = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Linear, FreezeMode.None, path);

        Assert.Equal("new head: linear, 10 classes; the checkpoint has no classifier", built.Classifier);
    }

    [Fact]
    public void Build_PretrainedBackboneEntryMissingAndOneExtra_RefusedNamingBothWhateverTheClassifier()
    {
        // A file entry the model lacks, outside the classifier, is unexpected whether or not the classifier is kept.
        using var extra = torch.zeros(3);
        string path = SaveDensenet(7, 1, "broken.pth", e => e.Name != "features.norm5.weight", ("features.extra", extra));

        var error = Assert.Throws<CheckpointException>(() => ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.None, path));

        Assert.Equal(["features.norm5.weight"], error.Missing);
        Assert.Equal(["features.extra"], error.Unexpected);
        Assert.Empty(error.Mismatched);
    }

    [Fact]
    public void Build_NewHeadFromCheckpointsOfDifferentSizes_SameInitialHeadWeights()
    {
        // The new head's initial weights are part of a result; they must not depend on the file's classifier size.
        string imagenet = SaveDensenet(1000, 1, "imagenet.pth");
        string seven = SaveDensenet(7, 1, "seven.pth");

        torch.manual_seed(9);
        using var a = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.None, imagenet);
        torch.manual_seed(9);
        using var b = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.None, seven);

        var headA = Checkpoint.StateDict(((IClassifier)a.Module).Classifier);
        var headB = Checkpoint.StateDict(((IClassifier)b.Module).Classifier);
        foreach (var ((name, x), (_, y)) in headA.Zip(headB))
            Assert.True(x.eq(y).all().item<bool>(), name);
    }

    [Theory]
    [InlineData("resnet50", "linear", "none", 23_528_522)]
    [InlineData("resnet50", "linear", "backbone", 2048 * 10 + 10)]
    [InlineData("densenet121", "linear", "backbone", 1024 * 10 + 10)]
    public void Build_RandomInit_TrainableCountFollowsFreeze(string arch, string head, string freeze, long trainable)
    {
        using var built = ModelBuilder.Build(Choice.Parse<ModelKind>(arch), 10, Choice.Parse<HeadKind>(head), Choice.Parse<FreezeMode>(freeze), pretrainedPath: null);
        Assert.Equal(trainable, built.TrainableParameters().Sum(p => p.numel()));
        Assert.Equal(freeze == "backbone", built.FrozenBackbone);
    }

    [Fact]
    public void SetTrainingMode_FrozenBackbone_BackboneStaysInEvalAndBatchNormStatisticsStay()
    {
        using var built = ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Seed, FreezeMode.Backbone, null);
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
        using var built = ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Linear, FreezeMode.None, null);
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
