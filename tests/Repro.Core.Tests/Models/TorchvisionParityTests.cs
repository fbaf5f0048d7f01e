using Repro.Config;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

/// <summary>A fact that runs only where <c>/usr/bin/python3</c> imports torch and torchvision (Debian's python3-torchvision).</summary>
public sealed class TorchvisionFactAttribute : FactAttribute
{
    internal const string Python = Repro.Core.Validation.ReferencePython.Default;

    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!File.Exists(Python))
            return $"{Python} not found";
        var (code, output) = TorchvisionParityTests.Run("-c \"import torch, torchvision\"", TimeSpan.FromSeconds(60));
        return code == 0 ? null : $"{Python} cannot import torch and torchvision: {output.Trim()}";
    });

    /// <summary>Why the parity checks cannot run here, or null when they can.</summary>
    internal static string? SkipReason => Unavailable.Value is { } reason ? reason + " (install python3-torchvision to run this parity check)" : null;

    /// <summary>Skips with the reason when torchvision is not importable.</summary>
    public TorchvisionFactAttribute()
    {
        if (SkipReason is { } reason)
            Skip = reason;
    }

    /// <summary>The repository's scripts/<paramref name="fileName"/>, found from the test project directory the build recorded.</summary>
    internal static string Script(string fileName)
    {
        string project = typeof(Snapshot).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "ReproTestProjectDirectory").Value!;
        return Path.GetFullPath(Path.Combine(project, "..", "..", "scripts", fileName));
    }
}

/// <summary>A theory that runs only where <see cref="TorchvisionFactAttribute"/>'s facts run.</summary>
public sealed class TorchvisionTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips with the reason when torchvision is not importable.</summary>
    public TorchvisionTheoryAttribute()
    {
        if (TorchvisionFactAttribute.SkipReason is { } reason)
            Skip = reason;
    }
}

public sealed class TorchvisionParityTests(ITestOutputHelper output) : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-parity-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    internal static (int Code, string Output) Run(string arguments, TimeSpan timeout) =>
        Repro.Core.Validation.ReferencePython.Run(TorchvisionFactAttribute.Python, arguments, timeout);

    [TorchvisionFact]
    public void Logits_TorchvisionWeightsLoaded_EqualTorchvisionLogits()
    {
        var (code, log) = Run($"\"{TorchvisionFactAttribute.Script("check-torchvision-parity.py")}\" \"{dir}\"", TimeSpan.FromSeconds(120));
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
