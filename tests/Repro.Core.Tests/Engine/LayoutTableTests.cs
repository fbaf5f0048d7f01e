using Repro.Core.Engine;
using Repro.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class LayoutTableTests
{
    private static X86Cpu Recorded(Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> registers) => X86Cpu.Decode(RecordedCpuId.Source(registers));

    [Fact]
    public void For_CpuHidingItsCaches_NchwForBothModelsAndChannelsLastRefused()
    {
        var rule = LayoutTable.For(DeviceType.CPU, Recorded(RecordedCpuId.Zen5VmHiddenCaches()), oneDnn: true);

        Assert.Same(LayoutTable.CachesHidden, rule);
        Assert.Equal(("NCHW", "NCHW"), (rule.ResNet50, rule.DenseNet121));
        Assert.Contains("SIGFPE", rule.Refusal);
    }

    [Fact]
    public void For_RecordedCpusWithVisibleCaches_ChannelsLastAsAsked()
    {
        foreach (var cpu in new[] { RecordedCpuId.Zen4(), RecordedCpuId.Zen5Vm(), RecordedCpuId.SapphireRapids() })
        {
            var rule = LayoutTable.For(DeviceType.CPU, Recorded(cpu), oneDnn: true);
            Assert.Same(LayoutTable.CachesVisible, rule);
            Assert.Null(rule.Refusal);
        }
    }

    [Fact]
    public void For_CudaOrOneDnnOff_TheCpuDoesNotDecide()
    {
        var hidden = Recorded(RecordedCpuId.Zen5VmHiddenCaches());

        Assert.Same(LayoutTable.Cuda, LayoutTable.For(DeviceType.CUDA, hidden, oneDnn: true));
        Assert.Same(LayoutTable.OneDnnOff, LayoutTable.For(DeviceType.CPU, hidden, oneDnn: false));
    }

    // The choice must be the platform's: the row read from this machine's platform record (the fields its id hashes)
    // is the row its CPUID gives, and a second read gives the same id and so the same row.
    [Fact]
    public void For_ThisMachinesPlatformRecord_SameRowAsItsCpuIdOnEveryRead()
    {
        TorchRuntime.Configure(1, CPU, tf32: true);
        var first = NumericsPlatform.Current(CPU);
        var second = NumericsPlatform.Current(CPU);

        Assert.Equal(first.Id, second.Id);
        Assert.Same(LayoutTable.For(first), LayoutTable.For(second));
        Assert.Same(LayoutTable.For(DeviceType.CPU, X86Cpu.Current(), oneDnn: true), LayoutTable.For(first));
    }

    [Fact]
    public void For_PlatformRecordsDifferingOnlyOutsideTheRow_SameRow()
    {
        TorchRuntime.Configure(1, CPU, tf32: true);
        var platform = NumericsPlatform.Current(CPU);

        Assert.Same(LayoutTable.For(platform), LayoutTable.For(platform with { Threads = 7, CpuBrand = "another brand" }));
        Assert.Same(LayoutTable.CachesHidden, LayoutTable.For(platform with { CacheL1d = X86Cpu.Hidden }));
        Assert.Same(LayoutTable.CachesVisible, LayoutTable.For(platform with { CacheL1d = "48 KiB" }));
    }

    [Fact]
    public void Markdown_DocsBenchmarks_CarriesTheTableAsRendered()
    {
        string docs = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ExternalSystems.Script("bench.sh"))!, "..", "docs", "benchmarks.md"));

        Assert.Contains(LayoutTable.Markdown(), File.ReadAllText(docs).Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
