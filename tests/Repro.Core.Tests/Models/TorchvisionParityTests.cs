using Repro.Config;
using Repro.Core.Models;
using Repro.Testing;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public sealed class TorchvisionParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-parity-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [RequiresFact(ExternalSystem.PyTorch)]
    public void Logits_TorchvisionWeightsLoaded_EqualTorchvisionLogits()
    {
        var (code, log) = ExternalSystems.Run(ExternalSystems.Python, [ExternalSystems.Script("check-torchvision-parity.py"), dir], TimeSpan.FromSeconds(120));
        Assert.True(code == 0, log);
        output.WriteLine(log.Trim());

        Dictionary<string, Tensor> reference;
        using (var stream = File.OpenRead(Path.Combine(dir, "parity.pth")))
            reference = PyTorchUnpickler.UnpickleStateDict(stream).Cast<System.Collections.DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        var input = reference["input"];

        foreach (var arch in new[] { "resnet50", "densenet121" })
        {
            using var built = ModelBuilder.Build(Choice.Parse<ModelKind>(arch), 1000, HeadKind.Linear, FreezeMode.None, pretrainedPath: null);
            Checkpoint.Load(built.Module, Path.Combine(dir, $"{arch}.pth"), arch == "densenet121" ? DenseNet.UpgradeLegacyKey : null);
            built.SetTrainingMode(false);
            using var _ = torch.no_grad();
            using var logits = built.Module.call(input);
            var expected = reference[arch];

            double maxAbs = (logits - expected).abs().max().item<float>();
            double scale = expected.abs().max().item<float>();
            output.WriteLine($"{arch}: max |logit| {scale:G4}, max abs error {maxAbs:G3}, max abs error / max |logit| {maxAbs / scale:G3}");
            Assert.Equal(expected.shape, logits.shape);
            Assert.True(scale > 1e-3, $"{arch}: degenerate reference logits");
            Assert.True(maxAbs <= 1e-4 * Math.Max(1.0, scale), $"{arch}: max abs error {maxAbs} (max |logit| {scale})");
        }
    }
}
