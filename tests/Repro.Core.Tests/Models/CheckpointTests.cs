using System.Security.Cryptography;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public sealed class CheckpointTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-checkpoint-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static DenseNet Densenet(int seed)
    {
        torch.manual_seed(seed);
        var model = Zoo.densenet121(10);
        // Non-default buffers, so a forgotten buffer would show as a difference.
        using var _ = torch.no_grad();
        foreach (var (name, buffer) in model.named_buffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal))
                buffer.uniform_(-0.1, 0.1);
        }
        return model;
    }

    private string Write(string name, IEnumerable<(string Name, Tensor Tensor)> entries)
    {
        var dict = new System.Collections.Specialized.OrderedDictionary();
        foreach (var (key, tensor) in entries)
            dict.Add(key, tensor);
        string path = Path.Combine(dir, name);
        PyTorchPickler.PickleStateDict(path, dict);
        return path;
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Get(nn.Module model, string name) => Checkpoint.StateDict(model).Single(e => e.Name == name).Tensor;

    [Fact]
    public void Load_RenamedMissingAndMisshapenEntries_RefusedNamingAllThreeWithoutLoading()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        using var wrongShape = torch.zeros(5, 1024);
        var entries = Checkpoint.StateDict(source)
            .Where(e => e.Name != "features.conv0.weight")
            .Select(e => e.Name switch
            {
                "features.norm5.weight" => ("features.norm5.gamma", e.Tensor),
                "classifier.weight" => (e.Name, wrongShape),
                _ => e,
            });
        string path = Write("tampered.pth", entries);
        using var before = Get(target, "features.denseblock1.denselayer1.conv1.weight").clone();

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(target, path));

        Assert.Contains(path, error.Message);
        Assert.Contains("features.conv0.weight", error.Message);
        Assert.Contains("features.norm5.weight", error.Message);
        Assert.Contains("features.norm5.gamma", error.Message);
        Assert.Contains("classifier.weight: file (5, 1024) Float32 vs model (10, 1024) Float32", error.Message);
        Assert.Equal(["features.conv0.weight", "features.norm5.weight"], error.Missing);
        Assert.Equal(["features.norm5.gamma"], error.Unexpected);
        Assert.Single(error.Mismatched);
        Assert.True(Same(Get(target, "features.denseblock1.denselayer1.conv1.weight"), before), "a refused file must load nothing");
    }

    [Fact]
    public void Load_ManyMissingEntries_ListsFirstFiveAndCount()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        string path = Write("half.pth", Checkpoint.StateDict(source).Where(e => !e.Name.StartsWith("features.denseblock4", StringComparison.Ordinal)));

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(target, path));

        int count = Checkpoint.StateDict(target).Count(e => e.Name.StartsWith("features.denseblock4", StringComparison.Ordinal));
        Assert.Equal(count, error.Missing.Count);
        Assert.Contains($"{count} missing", error.Message);
        Assert.Contains($"({count - 5} more)", error.Message);
    }

    [Fact]
    public void Load_MatchingCheckpoint_LoadsEveryEntryAndForwardMatches()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        string path = Path.Combine(dir, "densenet.pth");
        Checkpoint.Save(source, path);

        Checkpoint.Load(target, path);

        foreach (var ((name, expected), (_, actual)) in Checkpoint.StateDict(source).Zip(Checkpoint.StateDict(target)))
            Assert.True(Same(actual, expected), name);
        source.eval();
        target.eval();
        using var x = torch.randn(2, 3, 32, 32);
        using var expectedLogits = source.call(x);
        using var actualLogits = target.call(x);
        Assert.True(Same(actualLogits, expectedLogits));
    }

    [Fact]
    public void Load_TorchvisionLegacyDenseNetNames_RenamedAndLoaded()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        // densenet121-a639ec97.pth's names: features.denseblock1.denselayer1.norm.1.weight, …
        // (saved before BatchNorm had num_batches_tracked).
        var legacy = Checkpoint.StateDict(source)
            .Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Select(e => (System.Text.RegularExpressions.Regex.Replace(e.Name, @"(denselayer\d+\.(?:norm|conv))([12])\.", "$1.$2."), e.Tensor))
            .ToList();
        Assert.Contains(legacy, e => e.Item1 == "features.denseblock1.denselayer1.norm.1.weight");
        string path = Write("legacy.pth", legacy);

        Assert.Throws<CheckpointException>(() => Checkpoint.Load(target, path));
        Checkpoint.Load(target, path, DenseNet.UpgradeLegacyKey);

        var name = "features.denseblock3.denselayer7.conv2.weight";
        Assert.True(Same(Get(target, name), Get(source, name)));
    }

    [Fact]
    public void Load_BatchNormCountersAbsent_LoadsAsPyTorchDoesForOldFiles()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        string path = Write("old.pth", Checkpoint.StateDict(source).Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)));

        Checkpoint.Load(target, path);

        Assert.Equal(0L, Get(target, "features.norm0.num_batches_tracked").item<long>());
        Assert.True(Same(Get(target, "features.norm0.running_mean"), Get(source, "features.norm0.running_mean")));
    }

    [Fact]
    public void Load_HashInFileNameDiffers_Refused()
    {
        using var source = Densenet(1);
        string path = Path.Combine(dir, "densenet121-00000000.pth");
        Checkpoint.Save(source, path);

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(source, path));

        Assert.Contains("SHA-256 00000000", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_HashInFileNameMatches_Loads()
    {
        using var source = Densenet(1);
        using var target = Densenet(2);
        string temp = Path.Combine(dir, "densenet.pth");
        Checkpoint.Save(source, temp);
        string hash;
        using (var stream = File.OpenRead(temp))
            hash = Convert.ToHexStringLower(SHA256.HashData(stream))[..8];
        string path = Path.Combine(dir, $"densenet121-{hash}.pth");
        File.Move(temp, path);

        Checkpoint.Load(target, path);

        var name = "classifier.weight";
        Assert.True(Same(Get(target, name), Get(source, name)));
    }

    [Fact]
    public void Load_TruncatedLegacySerialization_RefusedNamingFile()
    {
        using var model = Densenet(1);
        string path = Path.Combine(dir, "legacy-format.pth");
        // The pickled magic number that starts a pre-1.6 torch.save file, and nothing after it.
        File.WriteAllBytes(path, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(model, path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not a torch.save file", error.Message);
    }

    [Fact]
    public void Load_NotAPickle_RefusedNamingFile()
    {
        using var model = Densenet(1);
        string path = Path.Combine(dir, "text.pth");
        File.WriteAllText(path, "not a checkpoint");

        var error = Assert.Throws<CheckpointException>(() => Checkpoint.Load(model, path));

        Assert.Contains(path, error.Message);
    }
}
