using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

/// <summary>CPUID register values of known CPUs, for feeding <see cref="X86Cpu.Decode"/>; unlisted leaves read as zeros.</summary>
internal static class RecordedCpuId
{
    /// <summary>
    /// An AMD EPYC Zen 5 KVM guest (family 26 = 0xF + extended 0x0B, model 2, stepping 1; brand "AMD EPYC"), recorded
    /// with GCC's __cpuid_count on the project's build machine on 2026-12-02. L1d 48 KiB, L2 1 MiB, L3 32 MiB.
    /// </summary>
    public static Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> Zen5Vm() => new()
    {
        [(0x0u, 0)] = new(0x0000001Cu, 0x68747541u, 0x444D4163u, 0x69746E65u),
        [(0x1u, 0)] = new(0x00B00F21u, 0x00020800u, 0xFFFA3203u, 0x178BFBFFu),
        [(0x7u, 0)] = new(0x00000001u, 0xF1BF07ABu, 0x00405FC6u, 0x00000110u),
        [(0x7u, 1)] = new(0x00000030u, 0x00000000u, 0x00000000u, 0x00000000u),
        [(0x80000000u, 0)] = new(0x80000021u, 0x68747541u, 0x444D4163u, 0x69746E65u),
        [(0x80000001u, 0)] = new(0x00B00F21u, 0x40000000u, 0x004003F3u, 0x2FD3FBFFu),
        [(0x80000002u, 0)] = new(0x20444D41u, 0x43595045u, 0x00000000u, 0x00000000u),
        [(0x8000001Du, 0)] = new(0x00000121u, 0x02C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x8000001Du, 1)] = new(0x00000122u, 0x01C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x8000001Du, 2)] = new(0x00000143u, 0x03C0003Fu, 0x000003FFu, 0x00000002u),
        [(0x8000001Du, 3)] = new(0x00004163u, 0x03C0003Fu, 0x00007FFFu, 0x00000001u),
    };

    /// <summary>
    /// The Zen 5 VM that crashed oneDNN (a SIGFPE: with no cache sizes, brg_blocking_t::est_eff_1x1 divides by zero):
    /// the same CPU, but the hypervisor leaves the cache descriptor leaf 0x8000001D empty.
    /// </summary>
    public static Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> Zen5VmHiddenCaches()
    {
        var registers = Zen5Vm();
        foreach (var key in registers.Keys.Where(k => k.Leaf == 0x8000001Du).ToList())
            registers[key] = default;
        return registers;
    }

    /// <summary>
    /// An AMD EPYC 9004 (Zen 4, "Genoa": family 25 = 0xF + 0x0A, model 0x11, stepping 1) with its documented caches
    /// (L1d 32 KiB 8-way, L2 1 MiB 8-way, L3 32 MiB 16-way per CCD, 64-byte lines), encoded per the AMD APM's
    /// Fn8000_001D format; AVX-512 with VNNI and BF16, no FP16.
    /// </summary>
    public static Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> Zen4() => new()
    {
        [(0x0u, 0)] = new(0x00000010u, 0x68747541u, 0x444D4163u, 0x69746E65u),
        [(0x1u, 0)] = new(0x00A10F11u, 0x00000800u, 0x7EF8320Bu, 0x178BFBFFu),
        [(0x7u, 0)] = new(0x00000001u, 0xF1BF97A9u, 0x00405FCEu, 0x10000010u),
        [(0x7u, 1)] = new(0x00000020u, 0x00000000u, 0x00000000u, 0x00000000u),
        [(0x80000000u, 0)] = new(0x80000028u, 0x68747541u, 0x444D4163u, 0x69746E65u),
        [(0x80000001u, 0)] = new(0x00A10F11u, 0x40000000u, 0x75C237FFu, 0x2FD3FBFFu),
        [(0x80000002u, 0)] = new(0x20444D41u, 0x43595045u, 0x35363920u, 0x36392034u),
        [(0x80000003u, 0)] = new(0x726F432Du, 0x72502065u, 0x7365636Fu, 0x20726F73u),
        [(0x80000004u, 0)] = new(0x20202020u, 0x20202020u, 0x20202020u, 0x00202020u),
        [(0x8000001Du, 0)] = new(0x00004121u, 0x01C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x8000001Du, 1)] = new(0x00004122u, 0x01C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x8000001Du, 2)] = new(0x00004143u, 0x01C0003Fu, 0x000007FFu, 0x00000002u),
        [(0x8000001Du, 3)] = new(0x0003C163u, 0x03C0003Fu, 0x00007FFFu, 0x00000001u),
    };

    /// <summary>
    /// An Intel Xeon 4th gen ("Sapphire Rapids": family 6, model 0x8F = extended 8 and base 0xF, stepping 8), with
    /// leaf 4 describing L1d 48 KiB 12-way and L2 2 MiB 16-way, and AVX-512 FP16 and AMX.
    /// </summary>
    public static Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> SapphireRapids() => new()
    {
        [(0x0u, 0)] = new(0x0000001Fu, 0x756E6547u, 0x6C65746Eu, 0x49656E69u),
        [(0x1u, 0)] = new(0x000806F8u, 0x00000800u, 0x7FFEFBFFu, 0xBFEBFBFFu),
        [(0x4u, 0)] = new(0x00000121u, 0x02C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x4u, 1)] = new(0x00000122u, 0x01C0003Fu, 0x0000003Fu, 0x00000000u),
        [(0x4u, 2)] = new(0x00000143u, 0x03C0003Fu, 0x000007FFu, 0x00000000u),
        [(0x7u, 0)] = new(0x00000001u, 0xF3BFBFFBu, 0x1BC05FEEu, 0xFFC1C410u),
        [(0x7u, 1)] = new(0x00000030u, 0x00000000u, 0x00000000u, 0x00000000u),
        [(0x80000000u, 0)] = new(0x80000008u, 0x00000000u, 0x00000000u, 0x00000000u),
    };

    public static Func<uint, uint, CpuIdRegisters> Source(Dictionary<(uint Leaf, uint Sub), CpuIdRegisters> registers) =>
        (leaf, sub) => registers.TryGetValue((leaf, sub), out var r) ? r : default;
}
