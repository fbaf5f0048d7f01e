using Repro.Config;
using Repro.Core.Models;
using Repro.Testing;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

/// <summary>
/// <see cref="ModelBuilder.Build"/> with checkpoints torchvision wrote for 1000, 10 and 5 classes
/// (scripts/write-classifier-checkpoints.py, run with Debian's python3-torchvision): the backbone always loads,
/// the classifier is kept when it is the head asked for, and kept classifiers give PyTorch's logits.
/// </summary>
public sealed class PretrainedCheckpointTests(ITestOutputHelper output) : IDisposable
{
    // The files are large (a resnet50 is about 100 MB): a temporary folder, deleted after each test.
    private readonly string dir = Directory.CreateTempSubdirectory("repro-pretrained-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private Dictionary<string, Tensor> WriteCheckpoints()
    {
        var (code, log) = ExternalSystems.Run(ExternalSystems.Python, [ExternalSystems.Script("write-classifier-checkpoints.py"), dir], TimeSpan.FromSeconds(300));
        Assert.True(code == 0, log);
        output.WriteLine(log.Trim());
        using var stream = File.OpenRead(Path.Combine(dir, "logits.pth"));
        return PyTorchUnpickler.UnpickleStateDict(stream).Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
    }

    private void AssertLogits(BuiltModel built, Tensor input, Tensor expected, string what)
    {
        built.SetTrainingMode(false);
        using var _ = no_grad();
        using var logits = built.Module.call(input);
        double maxAbs = (logits - expected).abs().max().item<float>();
        double scale = expected.abs().max().item<float>();
        output.WriteLine($"{what}: max |logit| {scale:G4}, max abs error {maxAbs:G3}");
        Assert.Equal(expected.shape, logits.shape);
        Assert.True(maxAbs <= 1e-4 * Math.Max(1.0, scale), $"{what}: max abs error {maxAbs} (max |logit| {scale})");
    }

    private static void AssertBackboneFrom(BuiltModel built, string path, string classifierPrefix)
    {
        var file = Checkpoint.ReadFile(path, built.Module is DenseNet ? DenseNet.UpgradeLegacyKey : null);
        try
        {
            var model = Checkpoint.StateDict(built.Module).ToDictionary(e => e.Name, e => e.Tensor);
            foreach (var (name, expected) in file.Where(e => !e.Key.StartsWith(classifierPrefix, StringComparison.Ordinal)))
                Assert.True(model[name].eq(expected).all().item<bool>(), name);
        }
        finally
        {
            foreach (var t in file.Values)
                t.Dispose();
        }
    }

    [RequiresFact(ExternalSystem.PyTorch)]
    public void Build_TorchvisionCheckpointsOf1000And10And5Classes_KeepMatchingClassifierElseNewHead()
    {
        var reference = WriteCheckpoints();
        var input = reference["input"];
        string resnet1000 = Path.Combine(dir, "resnet50_1000.pth");
        string resnet10 = Path.Combine(dir, "resnet50_10.pth");
        string densenet5 = Path.Combine(dir, "densenet121_5.pth");

        using (var built = ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Linear, FreezeMode.None, resnet10))
        {
            Assert.Equal("classifier from the checkpoint (fc, 10 classes)", built.Classifier);
            AssertLogits(built, input, reference["resnet50_10"], "resnet50, 10-class file, 10 classes");
        }
        using (var built = ModelBuilder.Build(ModelKind.ResNet50, 1000, HeadKind.Linear, FreezeMode.None, resnet1000))
        {
            Assert.Equal("classifier from the checkpoint (fc, 1000 classes)", built.Classifier);
            AssertLogits(built, input, reference["resnet50_1000"], "resnet50, 1000-class file, 1000 classes");
        }
        using (var built = ModelBuilder.Build(ModelKind.ResNet50, 10, HeadKind.Seed, FreezeMode.Backbone, resnet1000))
        {
            Assert.Equal("new head: seed MLP, 10 classes; checkpoint's 1000-class fc dropped", built.Classifier);
            AssertBackboneFrom(built, resnet1000, "fc.");
        }
        using (var built = ModelBuilder.Build(ModelKind.ResNet50, 5, HeadKind.Linear, FreezeMode.None, resnet10))
        {
            Assert.Equal("new head: linear, 5 classes; checkpoint's 10-class fc dropped", built.Classifier);
            AssertBackboneFrom(built, resnet10, "fc.");
        }
        // torchvision's legacy DenseNet names and legacy serialization, 5 classes.
        using (var built = ModelBuilder.Build(ModelKind.DenseNet121, 5, HeadKind.Linear, FreezeMode.None, densenet5))
        {
            Assert.Equal("classifier from the checkpoint (classifier, 5 classes)", built.Classifier);
            AssertLogits(built, input, reference["densenet121_5"], "densenet121, legacy 5-class file, 5 classes");
        }
        using (var built = ModelBuilder.Build(ModelKind.DenseNet121, 10, HeadKind.Seed, FreezeMode.None, densenet5))
        {
            Assert.Equal("new head: seed MLP, 10 classes; checkpoint's 5-class classifier dropped", built.Classifier);
            AssertBackboneFrom(built, densenet5, "classifier.");
        }
    }
}
