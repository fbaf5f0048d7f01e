using Repro.Core.Engine;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

[Collection(LibTorchCollection.Name)]
public sealed class TorchRuntimeTests
{
    [Fact]
    public void Configure_Cpu_LibTorchConfirmsDeterministicAlgorithms()
    {
        Assert.True(TorchRuntime.Configure(1, CPU, tf32: true));

        Assert.True(TorchRuntime.DeterministicAlgorithms);
        Assert.Equal(1, TorchSharp.torch.get_num_threads());
    }

    [Fact]
    public void Configure_Cpu_NewTensorsAreNotNaNFilled()
    {
        TorchRuntime.Configure(1, CPU, tf32: true);

        Assert.False(TorchRuntime.DeterministicFillUninitializedMemory);
    }

    [Fact]
    public void Derive_EachOfSeedEpochIndex_ChangesTheSeed()
    {
        ulong baseSeed = TorchRuntime.Derive(1, 0, 0);

        Assert.Equal(baseSeed, TorchRuntime.Derive(1, 0, 0));
        Assert.Equal(4, new[] { baseSeed, TorchRuntime.Derive(2, 0, 0), TorchRuntime.Derive(1, 1, 0), TorchRuntime.Derive(1, 0, 1) }.Distinct().Count());
    }

    [Fact]
    public void ResolveDevice_UnknownName_FailsNamingTheChoices()
    {
        var error = Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice("tpu"));

        Assert.Contains("auto, cpu, cuda", error.Message);
    }
}
