using System.Globalization;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Repro.Core.Engine;

/// <summary>
/// What CPUID says about an x86 CPU that can change float32 bits: identity, the instruction sets ATen and oneDNN
/// pick kernels by, and the cache sizes oneDNN derives its blockings from. Decoding takes a CPUID function so that
/// tests can feed recorded register values.
/// </summary>
/// <param name="L1d">Per-core L1 data cache size ("48 KiB"), or "hidden" when the cache-descriptor leaf gives nothing.</param>
/// <param name="Features">The feature flags the ISA levels are derived from (lowercase, Linux /proc/cpuinfo spelling).</param>
public sealed record X86Cpu(string Vendor, int Family, int Model, int Stepping, string Brand, string L1d, string L2, string L3,
    IReadOnlySet<string> Features)
{
    /// <summary>Said of a cache whose size the CPU (or hypervisor) does not report in the leaf oneDNN reads.</summary>
    public const string Hidden = "hidden";

    /// <summary>This machine's CPU; <c>null</c> on non-x86 processors.</summary>
    public static X86Cpu? Current() =>
        X86Base.IsSupported ? Decode((leaf, sub) =>
        {
            var (a, b, c, d) = X86Base.CpuId(unchecked((int)leaf), unchecked((int)sub));
            return new CpuIdRegisters(unchecked((uint)a), unchecked((uint)b), unchecked((uint)c), unchecked((uint)d));
        }) : null;

    /// <summary>Decodes vendor, signature, brand, caches and features from a CPUID function (leaf, sub-leaf).</summary>
    public static X86Cpu Decode(Func<uint, uint, CpuIdRegisters> cpuid)
    {
        var leaf0 = cpuid(0, 0);
        string vendor = Ascii(leaf0.Ebx, leaf0.Edx, leaf0.Ecx);
        uint maxBasic = leaf0.Eax;
        uint maxExtended = cpuid(0x8000_0000, 0).Eax;
        bool amd = vendor is "AuthenticAMD" or "HygonGenuine";

        var leaf1 = maxBasic >= 1 ? cpuid(1, 0) : default;
        uint baseFamily = (leaf1.Eax >> 8) & 0xF, baseModel = (leaf1.Eax >> 4) & 0xF;
        uint extFamily = (leaf1.Eax >> 20) & 0xFF, extModel = (leaf1.Eax >> 16) & 0xF;
        // AMD APM vol. 3, CPUID Fn0000_0001_EAX: the extended fields count only when the base family is 0xF.
        // Intel SDM vol. 2A, CPUID: the extended model also counts for family 6 (every Core/Xeon since 2006).
        int family = (int)(baseFamily == 0xF ? baseFamily + extFamily : baseFamily);
        bool extendedModel = baseFamily == 0xF || (!amd && baseFamily == 6);
        int model = (int)(extendedModel ? (extModel << 4) | baseModel : baseModel);
        int stepping = (int)(leaf1.Eax & 0xF);

        string brand = "unknown";
        if (maxExtended >= 0x8000_0004)
        {
            var sb = new StringBuilder();
            for (uint l = 0x8000_0002; l <= 0x8000_0004; l++)
            {
                var r = cpuid(l, 0);
                sb.Append(Ascii(r.Eax, r.Ebx, r.Ecx, r.Edx));
            }
            // Intel pads the brand with leading spaces, some hypervisors with NULs; neither is part of the name.
            brand = string.Join(' ', sb.ToString().Replace('\0', ' ').Split(' ', StringSplitOptions.RemoveEmptyEntries));
            if (brand.Length == 0)
                brand = "unknown";
        }

        var caches = amd
            ? CacheSizes(cpuid, 0x8000_001D, maxExtended >= 0x8000_001D && (cpuid(0x8000_0001, 0).Ecx & (1u << 22)) != 0)
            : CacheSizes(cpuid, 4, maxBasic >= 4);
        return new X86Cpu(vendor, family, model, stepping, brand, caches.L1d, caches.L2, caches.L3,
            FeatureFlags(cpuid, maxBasic, leaf1));
    }

    // Intel leaf 4 and AMD leaf 0x8000001D share one descriptor format (Intel SDM "Deterministic Cache Parameters";
    // AMD APM "Cache Properties"): EAX[4:0] type (0 = no more caches, 1 = data, 2 = instruction, 3 = unified),
    // EAX[7:5] level, EBX ways-1 [31:22], partitions-1 [21:12], line size-1 [11:0], ECX sets-1. These are the
    // leaves oneDNN reads through Xbyak's Cpu::setCacheHierarchy (third_party/xbyak/xbyak_util.h) to size its
    // blocks (cpu/platform.cpp get_per_core_cache_size); when they are empty oneDNN divides by a zero cache size
    // (a SIGFPE in brg_blocking_t::est_eff_1x1, cpu/x64/jit_brgemm_conv_utils.cpp, on a Zen 5 VM whose hypervisor
    // leaves leaf 0x8000001D empty: the tests' RecordedCpuId.Zen5VmHiddenCaches), so no other source (the
    // legacy AMD leaves 0x80000005/6, sysfs) may fill the gap here: "hidden" is the fact that matters.
    private static (string L1d, string L2, string L3) CacheSizes(Func<uint, uint, CpuIdRegisters> cpuid, uint leaf, bool available)
    {
        string l1d = Hidden, l2 = Hidden, l3 = Hidden;
        if (!available)
            return (l1d, l2, l3);
        for (uint sub = 0; sub < 16; sub++)
        {
            var r = cpuid(leaf, sub);
            uint type = r.Eax & 0x1F;
            if (type == 0)
                break;
            uint level = (r.Eax >> 5) & 0x7;
            long size = (long)(((r.Ebx >> 22) & 0x3FF) + 1) * (((r.Ebx >> 12) & 0x3FF) + 1) * ((r.Ebx & 0xFFF) + 1) * ((long)r.Ecx + 1);
            string text = Size(size);
            if (level == 1 && type == 1)
                l1d = text;
            else if (level == 2 && type != 2)
                l2 = text;
            else if (level == 3 && type != 2)
                l3 = text;
        }
        return (l1d, l2, l3);
    }

    /// <summary>A byte count in the largest binary unit that divides it exactly ("1 MiB", "48 KiB").</summary>
    public static string Size(long bytes) =>
        bytes % (1 << 20) == 0 ? (bytes >> 20).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes % (1 << 10) == 0 ? (bytes >> 10).ToString(CultureInfo.InvariantCulture) + " KiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " B";

    // Bit positions: Intel SDM vol. 2A table 3-8 / 3-10 (leaf 1, leaf 7 sub-leaves 0 and 1); the same bits oneDNN's
    // Xbyak reads. Only the flags that move ATen's or oneDNN's kernel choice are kept.
    private static HashSet<string> FeatureFlags(Func<uint, uint, CpuIdRegisters> cpuid, uint maxBasic, CpuIdRegisters leaf1)
    {
        var f = new HashSet<string>(StringComparer.Ordinal);
        void Add(bool on, string name)
        {
            if (on)
                f.Add(name);
        }
        static bool Bit(uint register, int bit) => (register & (1u << bit)) != 0;
        Add(Bit(leaf1.Ecx, 19), "sse4_1");
        Add(Bit(leaf1.Ecx, 12), "fma");
        Add(Bit(leaf1.Ecx, 28), "avx");
        if (maxBasic >= 7)
        {
            var l7 = cpuid(7, 0);
            Add(Bit(l7.Ebx, 5), "avx2");
            Add(Bit(l7.Ebx, 16), "avx512f");
            Add(Bit(l7.Ebx, 17), "avx512dq");
            Add(Bit(l7.Ebx, 30), "avx512bw");
            Add(Bit(l7.Ebx, 31), "avx512vl");
            Add(Bit(l7.Ecx, 11), "avx512_vnni");
            Add(Bit(l7.Edx, 23), "avx512_fp16");
            Add(Bit(l7.Edx, 22), "amx_bf16");
            Add(Bit(l7.Edx, 24), "amx_tile");
            Add(Bit(l7.Edx, 25), "amx_int8");
            if (l7.Eax >= 1)
            {
                var l71 = cpuid(7, 1);
                Add(Bit(l71.Eax, 4), "avx_vnni");
                Add(Bit(l71.Eax, 5), "avx512_bf16");
                Add(Bit(l71.Eax, 21), "amx_fp16");
                Add(Bit(l71.Edx, 4), "avx_vnni_int8");
                Add(Bit(l71.Edx, 5), "avx_ne_convert");
            }
        }
        return f;
    }

    private static string Ascii(params uint[] registers)
    {
        var bytes = new byte[registers.Length * 4];
        for (int i = 0; i < registers.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * i), registers[i]);
        return Encoding.ASCII.GetString(bytes).TrimEnd('\0');
    }
}
