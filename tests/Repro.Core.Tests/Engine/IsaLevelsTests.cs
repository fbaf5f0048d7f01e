using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public sealed class IsaLevelsTests
{
    private static IReadOnlySet<string> Features(Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> registers) =>
        X86Cpu.Decode(RecordedCpuId.Source(registers)).Features;

    [Fact]
    public void OneDnnIsa_Zen4AndZen5_Avx512CoreBf16()
    {
        Assert.Equal("avx512_core_bf16", IsaLevels.OneDnnIsa(Features(RecordedCpuId.Zen4()), null));
        Assert.Equal("avx512_core_bf16", IsaLevels.OneDnnIsa(Features(RecordedCpuId.Zen5Vm()), null));
    }

    [Fact]
    public void OneDnnIsa_SapphireRapids_Amx()
    {
        Assert.Equal("avx10_1_512_amx", IsaLevels.OneDnnIsa(Features(RecordedCpuId.SapphireRapids()), null));
    }

    [Theory]
    [InlineData("AVX2", "avx2")]
    [InlineData("avx512_core", "avx512_core")]
    [InlineData("AVX2_VNNI_2", "avx2_vnni")]
    [InlineData("NOT_AN_ISA", "avx512_core_bf16")]
    public void OneDnnIsa_MaxCpuIsaCap_HighestLevelBelowCap(string cap, string expected)
    {
        Assert.Equal(expected, IsaLevels.OneDnnIsa(Features(RecordedCpuId.Zen5Vm()), cap));
    }

    [Theory]
    [InlineData(null, "AVX512")]
    [InlineData("avx2", "AVX2")]
    [InlineData("default", "NO AVX")]
    public void AtenCapability_Zen5WithEnvironment_AsLibTorchSpellsIt(string? environment, string expected)
    {
        Assert.Equal(expected, IsaLevels.AtenCapability(Features(RecordedCpuId.Zen5Vm()), environment));
    }
}
