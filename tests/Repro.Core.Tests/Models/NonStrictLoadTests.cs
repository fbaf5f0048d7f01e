using Repro.Config;
using System.Collections.Specialized;
using System.Text.RegularExpressions;
using Repro.Core.Models;
using Repro.Core.Tests.Engine;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

/// <summary>
/// The tutorial's <c>load_state_dict(strict=False)</c> (<c>load_nonstrict</c>) against Repro's strict default, on
/// checkpoints whose names do not match the model. Not in parallel with other tests: they seed LibTorch's global
/// generator, and a parallel test drawing from it between the seed and the build would change the initial weights.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed partial class NonStrictLoadTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-nonstrict-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    // The inverse of torchvision's densenet._load_state_dict rename: the names of the published densenet121-a639ec97.pth.
    [GeneratedRegex(@"^(.*denselayer\d+\.)(norm|relu|conv)([12])\.(weight|bias|running_mean|running_var)$")]
    private static partial Regex CurrentDenseLayerKey();

    /// <summary>Saves <paramref name="model"/>'s state_dict with every key passed through <paramref name="rename"/>.</summary>
    private string SaveRenamed(nn.Module model, string name, Func<string, string> rename)
    {
        string path = Path.Combine(dir, name);
        var dict = new OrderedDictionary(StringComparer.Ordinal);
        foreach (var (key, tensor) in Checkpoint.StateDict(model))
            dict.Add(rename(key), tensor);
        PyTorchPickler.PickleStateDict(path, dict);
        return path;
    }

    [Fact]
    public void Build_RenamedKeysNonStrict_WeightsSilentlyNotLoadedAndCountReported()
    {
        torch.manual_seed(11);
        using var source = Zoo.resnet50(1000);
        // DataParallel's "module." prefix: a common way for every name to stop matching.
        string path = SaveRenamed(source, "renamed.pth", k => "module." + k);

        using var built = ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Seed, FreezeMode.Backbone, path, strict: false);

        var skipped = Assert.IsType<NonStrictLoad>(built.NonStrict);
        Assert.Equal(0, skipped.Loaded);
        // 318 backbone entries less the 53 BatchNorm counters, which PyTorch fills in rather than reports.
        Assert.Equal(265, skipped.Missing.Count);
        Assert.Equal(320, skipped.Unexpected.Count);
        Assert.Equal("conv1.weight", skipped.Missing[0]);
        Assert.Contains("non-strict load: 0 of 265 model entries loaded, 265 skipped", built.Classifier);
        var file = Checkpoint.StateDict(source).ToDictionary(e => e.Name, e => e.Tensor);
        var model = Checkpoint.StateDict(built.Module).ToDictionary(e => e.Name, e => e.Tensor);
        Assert.False(model["conv1.weight"].allclose(file["conv1.weight"]));
        Assert.False(model["layer4.2.conv3.weight"].allclose(file["layer4.2.conv3.weight"]));
    }

    [Fact]
    public void Build_RenamedKeysStrict_FailsNamingTheKeys()
    {
        torch.manual_seed(11);
        using var source = Zoo.resnet50(1000);
        string path = SaveRenamed(source, "renamed.pth", k => "module." + k);

        var error = Assert.Throws<CheckpointException>(() => ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Seed, FreezeMode.Backbone, path));

        Assert.Equal("conv1.weight", error.Missing[0]);
        Assert.Contains("module.conv1.weight", error.Unexpected);
        Assert.Contains("missing: conv1.weight", error.Message);
        Assert.Contains("unexpected: module.", error.Message);
    }

    [Fact]
    public void Build_MatchingCheckpoint_StrictByDefaultAndNonStrictSkipsNothing()
    {
        torch.manual_seed(12);
        using var source = Zoo.resnet50(5);
        string path = SaveRenamed(source, "resnet50-5.pth", k => k);

        using var strict = ModelBuilder.Build(ModelKind.ResNet50, 5, HeadKind.Seed, FreezeMode.Backbone, path);
        using var lenient = ModelBuilder.Build(ModelKind.ResNet50, 5, HeadKind.Seed, FreezeMode.Backbone, path, strict: false);

        Assert.Null(strict.NonStrict);
        Assert.DoesNotContain("non-strict", strict.Classifier);
        var skipped = Assert.IsType<NonStrictLoad>(lenient.NonStrict);
        Assert.Equal((318, 0, 0), (skipped.Loaded, skipped.Missing.Count, skipped.Unexpected.Count));
    }

    [Fact]
    public void Build_LegacyDenseNetNamesNonStrict_DenseLayersSkippedAsInTheTutorial()
    {
        torch.manual_seed(13);
        using var source = Zoo.densenet121(5);
        string path = SaveRenamed(source, "densenet121-legacy.pth", k => CurrentDenseLayerKey().Replace(k, "$1$2.$3.$4"));

        using var strict = ModelBuilder.Build(ModelKind.DenseNet121, 5, HeadKind.Seed, FreezeMode.Backbone, path);
        using var lenient = ModelBuilder.Build(ModelKind.DenseNet121, 5, HeadKind.Seed, FreezeMode.Backbone, path, strict: false);

        // Strict (the default) renames the legacy names as torchvision does and loads every entry.
        Assert.Null(strict.NonStrict);
        // Non-strict renames nothing: each of the 58 dense layers' two BatchNorms (4 entries) and two convolutions is skipped.
        var skipped = Assert.IsType<NonStrictLoad>(lenient.NonStrict);
        Assert.Equal(58 * 10, skipped.Missing.Count);
        Assert.Equal(58 * 10, skipped.Unexpected.Count);
        Assert.All(skipped.Missing, k => Assert.Contains(".denselayer", k));
        var file = Checkpoint.StateDict(source).ToDictionary(e => e.Name, e => e.Tensor);
        var strictModel = Checkpoint.StateDict(strict.Module).ToDictionary(e => e.Name, e => e.Tensor);
        var lenientModel = Checkpoint.StateDict(lenient.Module).ToDictionary(e => e.Name, e => e.Tensor);
        const string denseConv = "features.denseblock1.denselayer1.conv1.weight";
        Assert.True(strictModel[denseConv].allclose(file[denseConv], rtol: 0, atol: 0));
        Assert.False(lenientModel[denseConv].allclose(file[denseConv]));
        Assert.True(lenientModel["features.conv0.weight"].allclose(file["features.conv0.weight"], rtol: 0, atol: 0));
    }
}
