using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public sealed class X86CpuTests
{
    [Fact]
    public void Decode_Zen5Vm_FamilyUsesExtendedFamilyAndCachesFromLeaf8000001D()
    {
        var cpu = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen5Vm()));

        Assert.Equal("AuthenticAMD", cpu.Vendor);
        Assert.Equal(26, cpu.Family); // 0xF + extended 0x0B
        Assert.Equal(2, cpu.Model);
        Assert.Equal(1, cpu.Stepping);
        Assert.Equal("AMD EPYC", cpu.Brand);
        Assert.Equal(("48 KiB", "1 MiB", "32 MiB"), (cpu.L1d, cpu.L2, cpu.L3));
    }

    [Fact]
    public void Decode_Zen4_FamilyModelBrandAndCaches()
    {
        var cpu = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen4()));

        Assert.Equal(25, cpu.Family); // 0xF + extended 0x0A
        Assert.Equal(0x11, cpu.Model); // extended 1, base 1
        Assert.Equal(1, cpu.Stepping);
        Assert.Equal("AMD EPYC 9654 96-Core Processor", cpu.Brand);
        Assert.Equal(("32 KiB", "1 MiB", "32 MiB"), (cpu.L1d, cpu.L2, cpu.L3));
    }

    [Fact]
    public void Decode_EmptyCacheDescriptorLeaf_CachesHidden()
    {
        var cpu = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen5VmHiddenCaches()));

        Assert.Equal((X86Cpu.Hidden, X86Cpu.Hidden, X86Cpu.Hidden), (cpu.L1d, cpu.L2, cpu.L3));
        Assert.Equal(26, cpu.Family);
    }

    [Fact]
    public void Decode_AmdWithoutTopologyExtensions_CachesHidden()
    {
        var registers = RecordedCpuId.Zen5Vm();
        var ext = registers[(0x80000001u, 0)];
        registers[(0x80000001u, 0)] = ext with { Ecx = ext.Ecx & ~(1u << 22) };

        var cpu = X86Cpu.Decode(RecordedCpuId.Source(registers));

        Assert.Equal(X86Cpu.Hidden, cpu.L2);
    }

    [Fact]
    public void Decode_IntelFamily6_ModelUsesExtendedModelAndCachesFromLeaf4()
    {
        var cpu = X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.SapphireRapids()));

        Assert.Equal("GenuineIntel", cpu.Vendor);
        Assert.Equal(6, cpu.Family);
        Assert.Equal(0x8F, cpu.Model);
        Assert.Equal(8, cpu.Stepping);
        Assert.Equal(("48 KiB", "2 MiB", X86Cpu.Hidden), (cpu.L1d, cpu.L2, cpu.L3));
        Assert.Equal("unknown", cpu.Brand);
    }

    [Fact]
    public void Decode_AmdBaseFamilyBelowF_ExtendedFieldsIgnored()
    {
        var registers = RecordedCpuId.Zen5Vm();
        // Family 6 model 2 with non-zero extended fields: AMD counts them only for base family 0xF.
        registers[(0x1u, 0)] = new(0x00B30621u, 0, 0, 0);

        var cpu = X86Cpu.Decode(RecordedCpuId.Source(registers));

        Assert.Equal((6, 2), (cpu.Family, cpu.Model));
    }

    [Theory]
    [InlineData(49152L, "48 KiB")]
    [InlineData(1048576L, "1 MiB")]
    [InlineData(100L, "100 B")]
    public void Size_Bytes_LargestExactUnit(long bytes, string expected)
    {
        Assert.Equal(expected, X86Cpu.Size(bytes));
    }
}
