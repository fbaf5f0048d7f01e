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
    public void ResolveDevice_Cpu_IsTheCpu() =>
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchRuntime.ResolveDevice(Repro.Config.DeviceChoice.Cpu).type);
}
