using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Repro.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>
/// What decides the last bits of a float32 result besides the code and its settings: library versions, the CPU and
/// the kernels LibTorch and oneDNN pick for it (ISA level, cache-derived blockings), the thread count and, on CUDA,
/// the GPU and its numeric switches. Runs with the same <see cref="Id"/> repeat bit for bit; across ids only
/// statistically (a Zen 4 and a Zen 5 gave 75.00 % and 76.30 % on one suite, each byte-identical on repeat).
/// Nothing here depends on time, load or clock frequencies, so the id is stable on one machine.
/// </summary>
/// <param name="OneDnnVersion">oneDNN's version as LibTorch reports it (<c>at::get_mkldnn_version()</c>).</param>
/// <param name="Os">OS family, not the kernel version: kernels do not compute the bits (no kernel code runs in a
/// tensor op), and a kernel update would otherwise split one platform in two. What user space contributes is the C
/// library (libm's expf/logf, used by LibTorch's scalar paths, changed results in glibc 2.28), hence <paramref name="Libc"/>.</param>
/// <param name="Dotnet">The .NET runtime: Repro's own float code (transforms, metrics) goes through its JIT, whose vectorisation may change between versions.</param>
/// <param name="AtenIsa">ATen's CPU capability (AVX512, AVX2, NO AVX…), which selects its vectorised kernels.</param>
/// <param name="OneDnnIsa">The ISA oneDNN's kernels (convolutions, matmul) are generated for, in oneDNN's names.</param>
/// <param name="CacheL1d">L1 data cache as CPUID reports it, or "hidden"; with L2 and L3 they set oneDNN's blockings.</param>
/// <param name="Threads">LibTorch's intra-op thread count: CPU reductions split by it.</param>
/// <param name="Device">cpu or cuda; the Gpu*/Cuda* fields are null (absent) on the CPU.</param>
/// <param name="CudaBf16Reduction">at::Context::allowBF16ReductionCuBLAS() as its raw value: its return type went from bool to the
/// CuBLASReductionOption byte enum in LibTorch 2.x, and either way equal values mean equal cuBLAS behaviour.</param>
/// <param name="Numerics">"portable" under <c>numerics: portable</c>, else null (absent): a native platform's fields, and so
/// its id, are those recorded before the setting existed.</param>
/// <param name="IsaClass">Portable only: the ISA class the kernels are pinned to (<see cref="PortableNumerics.IsaClass"/>), which
/// replaces the CPU's vendor, family, model, stepping, brand and caches (null there): every CPU of the class shares the id.</param>
/// <param name="MklCbwr">Portable only: MKL's CNR setting as pinned (<see cref="PortableNumerics.Apply()"/> checked that it took).</param>
/// <param name="MklVml">Portable only: the code path of MKL's vector math as pinned (checked likewise).</param>
/// <param name="OneDnnEnabled">Portable only: whether LibTorch may use oneDNN, as read back.</param>
/// <param name="NnpackEnabled">Portable only: whether LibTorch may use NNPACK, as read back.</param>
public sealed record NumericsPlatform(
    string TorchSharp,
    string LibTorch,
    string OneDnnVersion,
    string Os,
    string Libc,
    string Architecture,
    string Dotnet,
    string? CpuVendor,
    string? CpuFamily,
    string? CpuModel,
    string? CpuStepping,
    string? CpuBrand,
    string? CacheL1d,
    string? CacheL2,
    string? CacheL3,
    string AtenIsa,
    string AtenIsaSource,
    string OneDnnIsa,
    string OneDnnIsaSource,
    string OneDnnAllowTf32,
    int Threads,
    string Device,
    string? GpuName = null,
    string? GpuCapability = null,
    string? CudaDriver = null,
    string? Cudnn = null,
    string? CudaMatmulTf32 = null,
    string? CudnnTf32 = null,
    string? CudaBf16Reduction = null,
    string? Numerics = null,
    string? IsaClass = null,
    string? MklCbwr = null,
    string? MklVml = null,
    string? OneDnnEnabled = null,
    string? NnpackEnabled = null)
{
    public const string NotApplicable = "n/a";
    public const string Unknown = "unknown";

    /// <summary>The fields as snake_case key and text, sorted by key (ordinal); absent (null) fields left out.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Fields
    {
        get
        {
            var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["torchsharp"] = TorchSharp,
                ["libtorch"] = LibTorch,
                ["onednn_version"] = OneDnnVersion,
                ["os"] = Os,
                ["libc"] = Libc,
                ["architecture"] = Architecture,
                ["dotnet"] = Dotnet,
                ["aten_isa"] = AtenIsa,
                ["aten_isa_source"] = AtenIsaSource,
                ["onednn_isa"] = OneDnnIsa,
                ["onednn_isa_source"] = OneDnnIsaSource,
                ["onednn_allow_tf32"] = OneDnnAllowTf32,
                ["threads"] = Threads.ToString(CultureInfo.InvariantCulture),
                ["device"] = Device,
            };
            void Optional(string key, string? value)
            {
                if (value is not null)
                    fields[key] = value;
            }
            Optional("cpu_vendor", CpuVendor);
            Optional("cpu_family", CpuFamily);
            Optional("cpu_model", CpuModel);
            Optional("cpu_stepping", CpuStepping);
            Optional("cpu_brand", CpuBrand);
            Optional("cache_l1d", CacheL1d);
            Optional("cache_l2", CacheL2);
            Optional("cache_l3", CacheL3);
            Optional("numerics", Numerics);
            Optional("isa_class", IsaClass);
            Optional("mkl_cbwr", MklCbwr);
            Optional("mkl_vml", MklVml);
            Optional("onednn_enabled", OneDnnEnabled);
            Optional("nnpack_enabled", NnpackEnabled);
            Optional("gpu_name", GpuName);
            Optional("gpu_capability", GpuCapability);
            Optional("cuda_driver", CudaDriver);
            Optional("cudnn", Cudnn);
            Optional("cuda_matmul_tf32", CudaMatmulTf32);
            Optional("cudnn_tf32", CudnnTf32);
            Optional("cuda_bf16_reduction", CudaBf16Reduction);
            return [.. fields];
        }
    }

    /// <summary>The text the id hashes: one <c>key=value</c> line per field, sorted by key, LF endings.</summary>
    public string Canonical => string.Concat(Fields.Select(f => f.Key + "=" + f.Value + "\n"));

    /// <summary>16 lowercase hex digits: the start of the SHA-256 of <see cref="Canonical"/>.</summary>
    public string Id => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical)))[..16];

    /// <summary>The platform as metrics.json records it: the id and each field as its JSON text.</summary>
    public NumericsPlatformRecord ToRecord() =>
        new(Id, [.. Fields.Select(f => KeyValuePair.Create(f.Key, JsonSerializer.Serialize(f.Value)))]);

    /// <summary>The object alone, indented, LF-terminated (the <c>platform --json</c> output).</summary>
    public string ToJson()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            foreach (var (key, value) in Fields)
                json.WriteString(key, value);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    /// <summary>Aligned <c>key  value</c> lines, the id first.</summary>
    public string Render()
    {
        int width = Math.Max(2, Fields.Max(f => f.Key.Length));
        var text = new StringBuilder();
        text.Append("id".PadRight(width)).Append("  ").Append(Id).Append('\n');
        foreach (var (key, value) in Fields)
            text.Append(key.PadRight(width)).Append("  ").Append(value).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// This process's platform for runs on <paramref name="device"/>, read after LibTorch is configured (the thread
    /// count and TF32 switches are read back from LibTorch, not taken from the configuration). Under
    /// <see cref="NumericsMode.Portable"/> (applied by <see cref="PortableNumerics.Apply()"/>) the CPU is named by its ISA
    /// class and the pins as read back.
    /// </summary>
    public static NumericsPlatform Current(Device device, NumericsMode numerics = NumericsMode.Native)
    {
        var platform = Native(device);
        return numerics == NumericsMode.Native ? platform
            : platform.AsPortable(Flag(TorchRuntime.OneDnnEnabled), Flag(TorchRuntime.NnpackEnabled));
    }

    /// <summary>
    /// This platform as <c>numerics: portable</c> records it: the CPU's identity and caches left out, the ISA class and
    /// the pins in. <paramref name="oneDnn"/> and <paramref name="nnpack"/> are the switches as read back ("off").
    /// </summary>
    public NumericsPlatform AsPortable(string oneDnn, string nnpack) => this with
    {
        CpuVendor = null, CpuFamily = null, CpuModel = null, CpuStepping = null, CpuBrand = null,
        CacheL1d = null, CacheL2 = null, CacheL3 = null,
        Numerics = Choice.Name(NumericsMode.Portable),
        IsaClass = PortableNumerics.IsaClass,
        // As pinned: PortableNumerics.Apply has read it back from MKL.
        MklCbwr = Engine.MklCbwr.Name(PortableNumerics.MklSetting),
        MklVml = string.Create(CultureInfo.InvariantCulture, $"code path {PortableNumerics.VmlCodePath} (AVX2)"),
        OneDnnEnabled = oneDnn,
        NnpackEnabled = nnpack,
    };

    private static NumericsPlatform Native(Device device)
    {
        var cpu = X86Cpu.Current();
        var (atenIsa, atenSource) = AtenCapability(cpu);
        var (oneDnnIsa, oneDnnSource) = OneDnnEffectiveIsa(cpu);
        bool cudaDevice = device.type == DeviceType.CUDA;
        int ordinal = Math.Max(0, (int)device.index);
        return new NumericsPlatform(
            TorchRuntime.TorchSharpVersion,
            TorchRuntime.LibTorchVersion,
            OneDnnVersionText(),
            OsFamily(),
            LibcVersion(),
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            Environment.Version.ToString(),
            cpu?.Vendor ?? NotApplicable,
            cpu?.Family.ToString(CultureInfo.InvariantCulture) ?? NotApplicable,
            cpu?.Model.ToString(CultureInfo.InvariantCulture) ?? NotApplicable,
            cpu?.Stepping.ToString(CultureInfo.InvariantCulture) ?? NotApplicable,
            cpu?.Brand ?? NotApplicable,
            cpu?.L1d ?? NotApplicable,
            cpu?.L2 ?? NotApplicable,
            cpu?.L3 ?? NotApplicable,
            atenIsa,
            atenSource,
            oneDnnIsa,
            oneDnnSource,
            Flag(TorchRuntime.ContextFlag("_ZNK2at7Context15allowTF32OneDNNEv")),
            torch.get_num_threads(),
            cudaDevice ? "cuda" : "cpu",
            cudaDevice ? CudaInfo.DeviceName(ordinal) : null,
            cudaDevice ? CudaInfo.ComputeCapability(ordinal) : null,
            cudaDevice ? CudaInfo.DriverVersion() : null,
            cudaDevice ? CudaInfo.CudnnVersion() : null,
            cudaDevice ? Flag(TorchRuntime.ContextFlag("_ZNK2at7Context15allowTF32CuBLASEv")) : null,
            cudaDevice ? Flag(torch.backends.cudnn.allow_tf32) : null,
            cudaDevice ? (TorchRuntime.ContextByte("_ZNK2at7Context24allowBF16ReductionCuBLASEv") is { } b ? b.ToString(CultureInfo.InvariantCulture) : Unknown) : null);
    }

    private static string Flag(bool? on) => on switch { true => "on", false => "off", null => Unknown };

    // LibTorch decides once, at its first dispatch, honouring ATEN_CPU_CAPABILITY itself; asking it
    // (aten/src/ATen/Version.cpp get_cpu_capability) is exact. Without the export, the same rule is applied to CPUID.
    private static (string Isa, string Source) AtenCapability(X86Cpu? cpu)
    {
        if (TorchRuntime.CxxStringFunction("_ZN2at18get_cpu_capabilityB5cxx11Ev") is { Length: > 0 } asked)
            return (asked, "at::get_cpu_capability()");
        string? environment = Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY");
        string how = environment is { Length: > 0 } ? $"CPUID, ATEN_CPU_CAPABILITY={environment}" : "CPUID";
        return cpu is null ? (NotApplicable, "not x86; at::get_cpu_capability() unreachable") : (IsaLevels.AtenCapability(cpu.Features, environment), how);
    }

    // oneDNN's own answer (dnnl_get_effective_cpu_isa, include/oneapi/dnnl/dnnl.h) when the library exports it; the
    // libtorch_cpu of LibTorch 2.10 links oneDNN statically with hidden symbols, so there it is derived from CPUID
    // and the same environment cap oneDNN reads (ONEDNN_MAX_CPU_ISA first, then DNNL_MAX_CPU_ISA).
    private static (string Isa, string Source) OneDnnEffectiveIsa(X86Cpu? cpu)
    {
        if (TorchRuntime.TryGetLibTorchExport("dnnl_get_effective_cpu_isa", out var get))
        {
            unsafe
            {
                int isa = ((delegate* unmanaged<int>)get)();
                return (string.Create(CultureInfo.InvariantCulture, $"dnnl_cpu_isa_t 0x{isa:x}"), "dnnl_get_effective_cpu_isa()");
            }
        }
        string? cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") is { Length: > 0 } onednn ? "ONEDNN_MAX_CPU_ISA=" + onednn
            : Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") is { Length: > 0 } dnnl ? "DNNL_MAX_CPU_ISA=" + dnnl
            : null;
        if (cpu is null)
            return (NotApplicable, "not x86; dnnl_get_effective_cpu_isa not exported");
        string how = "CPUID feature bits" + (cap is null ? "" : ", " + cap) + " (dnnl_get_effective_cpu_isa not exported)";
        return (IsaLevels.OneDnnIsa(cpu.Features, cap?[(cap.IndexOf('=') + 1)..]), how);
    }

    // "oneDNN v3.7.1 (commit …)"-style text; the commit is part of the version, so it stays.
    private static string OneDnnVersionText() =>
        TorchRuntime.CxxStringFunction("_ZN2at18get_mkldnn_versionB5cxx11Ev") is { Length: > 0 } v
            ? string.Join(' ', v.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            : Unknown;

    private static string OsFamily() =>
        OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "macos"
        : OperatingSystem.IsFreeBSD() ? "freebsd" : RuntimeInformation.OSDescription.Split(' ')[0].ToLowerInvariant();

    // glibc answers gnu_get_libc_version(); musl has no version call (said as "musl or other"); Windows and macOS
    // tie their C runtime to the OS.
    private static string LibcVersion()
    {
        if (!OperatingSystem.IsLinux())
            return NotApplicable;
        if (NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out var get))
        {
            unsafe
            {
                return "glibc " + Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)get)());
            }
        }
        return "musl or other (version unknown)";
    }
}
