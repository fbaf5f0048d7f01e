namespace Repro.Core.Engine;

/// <summary>
/// The instruction-set levels ATen and oneDNN dispatch on, derived from CPUID feature flags the way each library
/// does, for when the libraries themselves cannot be asked.
/// </summary>
public static class IsaLevels
{
    /// <summary>
    /// ATen's CPU capability as <c>at::get_cpu_capability()</c> spells it. Mirrors compute_cpu_capability() in
    /// aten/src/ATen/native/DispatchStub.cpp: ATEN_CPU_CAPABILITY (default, avx2, avx512) wins when set; otherwise
    /// AVX512 needs AVX-512 VL+BW+DQ and FMA, AVX2 needs AVX2 and FMA; names as in aten/src/ATen/Version.cpp.
    /// </summary>
    public static string AtenCapability(IReadOnlySet<string> features, string? environment)
    {
        switch (environment?.Trim().ToLowerInvariant())
        {
            case "default":
                return "NO AVX";
            case "avx2":
                return "AVX2";
            case "avx512":
                return "AVX512";
        }
        if (Has(features, "avx512vl", "avx512bw", "avx512dq", "fma"))
            return "AVX512";
        return Has(features, "avx2", "fma") ? "AVX2" : "NO AVX";
    }

    // oneDNN's x64 ISA ladder (src/cpu/x64/cpu_isa_traits.hpp, cpu_isa_t and mayiuse()), each level with the
    // features it needs, cumulative where oneDNN's bit masks are (avx2_vnni_2 is not below avx512_core: its
    // VNNI-INT8 and NE-CONVERT bits are not in avx512_core's mask).
    private static readonly (string Name, string[] Needs)[] Ladder =
    [
        ("sse41", ["sse4_1"]),
        ("avx", ["sse4_1", "avx"]),
        ("avx2", ["sse4_1", "avx", "avx2"]),
        ("avx2_vnni", ["sse4_1", "avx", "avx2", "avx_vnni"]),
        ("avx2_vnni_2", ["sse4_1", "avx", "avx2", "avx_vnni", "avx_vnni_int8", "avx_ne_convert"]),
        ("avx512_core", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq"]),
        ("avx512_core_vnni", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"]),
        ("avx512_core_bf16", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"]),
        ("avx10_1_512", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16"]),
        ("avx10_1_512_amx", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16"]),
        ("avx10_1_512_amx_fp16", ["sse4_1", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "amx_fp16"]),
    ];

    /// <summary>
    /// The ISA oneDNN's kernels will use (what <c>dnnl_get_effective_cpu_isa</c> would return): the highest level
    /// the CPU supports that the ONEDNN_MAX_CPU_ISA cap (or its older name DNNL_MAX_CPU_ISA) allows; "sse41 or
    /// lower" below the ladder. oneDNN ignores a cap it does not know (src/common/dnnl_debug / cpu_isa_traits.cpp
    /// get_max_cpu_isa_mask), and so does this.
    /// </summary>
    public static string OneDnnIsa(IReadOnlySet<string> features, string? maxIsa)
    {
        string[]? cap = null;
        if (maxIsa is { Length: > 0 })
        {
            string name = maxIsa.Trim().ToLowerInvariant() switch
            {
                "avx512_core_fp16" => "avx10_1_512",
                "avx512_core_amx" => "avx10_1_512_amx",
                "avx512_core_amx_fp16" => "avx10_1_512_amx_fp16",
                var other => other,
            };
            cap = Ladder.FirstOrDefault(l => l.Name == name).Needs;
        }
        string effective = "sse41 or lower";
        foreach (var (name, needs) in Ladder)
            if (Has(features, needs) && (cap is null || needs.All(cap.Contains)))
                effective = name;
        return effective;
    }

    private static bool Has(IReadOnlySet<string> features, params string[] needed) => needed.All(features.Contains);
}
