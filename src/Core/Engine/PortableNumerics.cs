using System.Runtime.InteropServices;
using Repro.Config;

namespace Repro.Core.Engine;

/// <summary>
/// <c>numerics: portable</c>: LibTorch's CPU kernels pinned so that every x86-64 CPU with AVX2 and FMA (the x86-64-v3
/// class) computes the same float32 bits. What it pins, and the evidence for each pin, is in docs/numerics.md:
/// <list type="bullet">
/// <item>oneDNN off for every operator (<c>at::Context::setUserEnabledMkldnn(false)</c>): its convolutions size their
/// blocking from the CPUID cache sizes and pick kernels per microarchitecture, which no environment cap pins;
/// ATen's own convolutions (im2col/col2im + one BLAS GEMM) run instead. NNPACK off too: where it initialises it takes
/// over convolution forwards of 16 images and more.</item>
/// <item>ATEN_CPU_CAPABILITY=avx2: ATen's vectorised kernels (reductions, batch norm, activations, the optimizer's
/// arithmetic, the normal distribution that initialises weights) in their AVX2 build.</item>
/// <item>MKL_CBWR=COMPATIBLE: MKL's GEMM (every convolution and linear layer once oneDNN is off) on the one code path
/// MKL runs alike on Intel and other CPUs. The ISA branches (AVX2, AVX512, with or without STRICT) are honoured on
/// Intel CPUs only; elsewhere MKL reads them back as AUTO and runs its non-Intel path, whose bits differ from Intel's
/// AVX2 path for some GEMM shapes (a convolution's weight gradient, docs/numerics.md).</item>
/// <item>MKL_VML_DEBUG_CPU_TYPE=3: MKL's vector math (ATen's float sqrt, exp, log, tanh go through it; Adam's sqrt
/// above all) on its AVX2 path, whose sqrt is the correctly rounded one. VML picks its path from CPUID whatever
/// MKL_CBWR says, and its SSE2 path's sqrt is an approximation whose bits moved between this CPU and an emulated
/// one (docs/numerics.md).</item>
/// <item>ONEDNN_MAX_CPU_ISA=AVX2, for any oneDNN use left behind the switch.</item>
/// </list>
/// The environment variables are read once by native code, at its first use; <see cref="Apply"/> sets them through
/// libc before that, then reads every pin back from the libraries and fails when one did not take.
/// </summary>
public static class PortableNumerics
{
    /// <summary>The ISA class every CPU computing portable bits belongs to, as the numerics platform names it.</summary>
    public const string IsaClass = "x86-64-v3 (AVX2, FMA)";

    /// <summary>The MKL setting pinned: MKL_CBWR_COMPATIBLE.</summary>
    public const int MklSetting = 3;

    /// <summary>The code path of MKL's vector math pinned: 3, its AVX2 path (<see cref="MklCbwr.VmlCodePath"/>).</summary>
    public const int VmlCodePath = 3;

    /// <summary>The environment the native libraries must see, name and value.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Environment { get; } =
    [
        KeyValuePair.Create("ATEN_CPU_CAPABILITY", "avx2"),
        KeyValuePair.Create("MKL_CBWR", MklCbwr.Name(MklSetting)),
        KeyValuePair.Create("MKL_VML_DEBUG_CPU_TYPE", VmlCodePath.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        KeyValuePair.Create("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ];

    /// <summary>Why <paramref name="cpu"/> cannot compute portable bits, or null when it can.</summary>
    public static string? Unsupported(X86Cpu? cpu) => cpu switch
    {
        null => $"'numerics: portable' needs an x86-64 CPU (it pins x86 instruction sets); this process runs on {RuntimeInformation.ProcessArchitecture}",
        _ when !cpu.Features.Contains("avx2") || !cpu.Features.Contains("fma") =>
            $"'numerics: portable' computes in the {IsaClass} class, and this CPU ({cpu.Vendor} family {cpu.Family} model {cpu.Model}, {cpu.Brand}) lacks AVX2 or FMA; use 'numerics: native'",
        _ => null,
    };

    /// <summary>
    /// Pins LibTorch for portable bits; call before LibTorch runs its first operator (it may already be loaded).
    /// Throws <see cref="InvalidOperationException"/> naming each pin that does not read back as set.
    /// </summary>
    public static void Apply()
    {
        if (Unsupported(X86Cpu.Current()) is { } why)
            throw new InvalidOperationException(why);
        foreach (var (name, value) in Environment)
            NativeEnvironment.Set(name, value);
        TorchRuntime.SetOneDnnEnabled(false);
        TorchRuntime.SetNnpackEnabled(false);
        // MKL reads MKL_CBWR at its first call; setting it here as well covers an MKL that read its environment
        // before (mkl_cbwr_set succeeds until MKL first computes).
        MklCbwr.Set(MklSetting);
        if (Violations() is { Count: > 0 } violations)
            throw new InvalidOperationException("'numerics: portable' could not pin LibTorch: " + string.Join("; ", violations)
                + ". Something ran a LibTorch operator before the pins were set, or this LibTorch build lacks the switch.");
    }

    /// <summary>Each pin that does not hold now, as a sentence; empty when all do.</summary>
    public static IReadOnlyList<string> Violations()
    {
        var violations = new List<string>();
        string? aten = TorchRuntime.CxxStringFunction("_ZN2at18get_cpu_capabilityB5cxx11Ev");
        if (aten != "AVX2")
            violations.Add($"ATen's CPU capability is {aten ?? "unreadable"}, not AVX2");
        if (TorchRuntime.OneDnnEnabled is not false)
            violations.Add($"oneDNN is {Describe(TorchRuntime.OneDnnEnabled)}, not off");
        if (TorchRuntime.NnpackEnabled is not false)
            violations.Add($"NNPACK is {Describe(TorchRuntime.NnpackEnabled)}, not off");
        int? mkl = MklCbwr.Get();
        if (mkl != MklSetting)
            violations.Add($"MKL's CBWR is {(mkl is { } m ? MklCbwr.Name(m) : "unreadable")}, not {MklCbwr.Name(MklSetting)}");
        int? vml = MklCbwr.VmlCodePath();
        if (vml != VmlCodePath)
            violations.Add($"MKL's vector math runs code path {(vml is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unreadable")}, not {VmlCodePath} (AVX2)");
        return violations;
    }

    private static string Describe(bool? on) => on switch { true => "on", false => "off", null => "unreadable" };

    /// <summary>Applies <paramref name="mode"/>: nothing for native (LibTorch as it starts), <see cref="Apply"/> for portable.</summary>
    public static void Apply(NumericsMode mode)
    {
        if (mode == NumericsMode.Portable)
            Apply();
    }
}
