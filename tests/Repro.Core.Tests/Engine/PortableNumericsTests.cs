using System.Text.Json;
using Repro.Build.Tasks;
using Repro.Core.Engine;
using Repro.Testing;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// <c>numerics: portable</c>. Pinning changes process-wide LibTorch state, so everything that applies it runs in a
/// child host process (<see cref="HostProcess"/>), never in the test process.
/// </summary>
public sealed class PortableNumericsTests
{
    private static readonly string[] CapVariables = ["ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "MKL_VML_DEBUG_CPU_TYPE"];

    /// <summary>Runs the host with the ISA caps of <paramref name="caps"/> (every other cap unset); fails on a non-zero exit.</summary>
    private static List<string> Host(IReadOnlyDictionary<string, string> caps, IReadOnlyList<string> wrapper, params string[] arguments)
    {
        var environment = CapVariables.ToDictionary(v => v, v => caps.GetValueOrDefault(v));
        // .NET's W^X double mapping of JIT-compiled code hides code writes from qemu-user, which then crashes (SIGSEGV).
        if (wrapper.Count > 0)
            environment["DOTNET_EnableWriteXorExecute"] = "0";
        var (exitCode, lines) = HostProcess.Exec(Directory.GetCurrentDirectory(), environment, wrapper, arguments);
        Assert.True(exitCode == 0, $"{string.Join(' ', arguments)} exited with {exitCode}:\n{string.Join('\n', lines.TakeLast(10))}");
        return lines;
    }

    /// <summary>The probe's hashes of <paramref name="items"/>: item -> "y=… dx=… …".</summary>
    private static Dictionary<string, string> Probe(IReadOnlyDictionary<string, string> caps, IReadOnlyList<string> wrapper, string numerics, params string[] items)
    {
        var lines = Host(caps, wrapper, ["numerics-probe", "--json", "--numerics", numerics, "--items", .. items]);
        int start = lines.FindIndex(l => l == "{");
        using var json = JsonDocument.Parse(string.Join('\n', lines.Skip(start)));
        return json.RootElement.GetProperty("items").EnumerateObject().ToDictionary(
            i => i.Name,
            i => string.Join(' ', i.Value.EnumerateObject().Where(p => p.Name != "description").Select(p => $"{p.Name}={p.Value.GetString()}")));
    }

    private static readonly Dictionary<string, string> NoCaps = [];

    private static readonly Dictionary<string, string> Avx512Caps = new()
    {
        ["ATEN_CPU_CAPABILITY"] = "avx512", ["ONEDNN_MAX_CPU_ISA"] = "AVX512_CORE", ["MKL_CBWR"] = "AVX512", ["MKL_VML_DEBUG_CPU_TYPE"] = "5",
    };

    private static readonly Dictionary<string, string> Avx2Caps = new() { ["ONEDNN_MAX_CPU_ISA"] = "AVX2" };

    [Fact]
    public void Unsupported_CpuWithoutAvx2_NamesTheClassAndTheCpu()
    {
        var nehalem = new X86Cpu("GenuineIntel", 6, 26, 5, "Intel Core i7 (Nehalem)", "32 KiB", "256 KiB", "8 MiB", new HashSet<string> { "sse4_1" });

        string? why = PortableNumerics.Unsupported(nehalem);

        Assert.NotNull(why);
        Assert.Contains(PortableNumerics.IsaClass, why);
        Assert.Contains("Nehalem", why);
    }

    [Fact]
    public void Unsupported_Avx2Cpus_None()
    {
        Assert.Null(PortableNumerics.Unsupported(X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen4()))));
        Assert.Null(PortableNumerics.Unsupported(X86Cpu.Decode(RecordedCpuId.Source(RecordedCpuId.Zen5VmHiddenCaches()))));
    }

    [Fact]
    public void MklCbwr_Names_RoundTrip()
    {
        Assert.Equal("COMPATIBLE", MklCbwr.Name(PortableNumerics.MklSetting));
        Assert.Equal(PortableNumerics.MklSetting, MklCbwr.Parse("compatible"));
        Assert.Equal(10 | MklCbwr.Strict, MklCbwr.Parse("AVX2, STRICT"));
        Assert.Equal("AVX2,STRICT", MklCbwr.Name(MklCbwr.Parse("AVX2,STRICT")));
        Assert.Contains("unknown MKL_CBWR branch 'AVX3'", Assert.Throws<ArgumentException>(() => MklCbwr.Parse("AVX3")).Message);
    }

    [Fact]
    public void NativeEnvironment_Set_NativeCodeSeesIt()
    {
        if (OperatingSystem.IsWindows())
            Assert.Throws<PlatformNotSupportedException>(() => NativeEnvironment.Set("REPRO_TEST_VARIABLE", "x"));
        else
        {
            string value = Guid.NewGuid().ToString();
            NativeEnvironment.Set("REPRO_TEST_VARIABLE", value);
            Assert.Equal(value, NativeEnvironment.Get("REPRO_TEST_VARIABLE"));
            Assert.Equal(value, Environment.GetEnvironmentVariable("REPRO_TEST_VARIABLE"));
        }
    }

    // The id a portable run records must not depend on the ISA caps a user's shell happens to set: the pins override them.
    [Fact]
    public void PlatformCommand_PortableWithAvx512CapsInTheEnvironment_SameIdAndPinsReadBack()
    {
        if (PortableNumerics.Unsupported(X86Cpu.Current()) is { } why)
            Assert.Fail("this machine cannot run portable numerics: " + why);

        string plain = string.Join('\n', Host(NoCaps, [], "platform", "--numerics", "portable", "--json"));
        string capped = string.Join('\n', Host(Avx512Caps, [], "platform", "--numerics", "portable", "--json"));

        Assert.Equal(plain, capped);
        using var json = JsonDocument.Parse(plain);
        var root = json.RootElement;
        Assert.Equal(("portable", "AVX2", "off", "off"), (root.GetProperty("numerics").GetString(), root.GetProperty("aten_isa").GetString(),
            root.GetProperty("onednn_enabled").GetString(), root.GetProperty("nnpack_enabled").GetString()));
        Assert.False(root.TryGetProperty("cpu_vendor", out _));
        Assert.False(root.TryGetProperty("cache_l1d", out _));
    }

    // The core of the mode: the same bytes whatever ISA the environment allows, where native numerics change with it.
    [Fact]
    public void Probe_ConvolutionUnderOtherIsaCaps_PortableSameBytesNativeNot()
    {
        var nativeDefault = Probe(NoCaps, [], "native", "conv3x3");
        var nativeAvx2 = Probe(Avx2Caps, [], "native", "conv3x3");
        var portable = Probe(NoCaps, [], "portable", "conv3x3");
        var portableAvx512 = Probe(Avx512Caps, [], "portable", "conv3x3");

        Assert.Equal(portable, portableAvx512);
        if (X86Cpu.Current()!.Features.Contains("avx512f"))
            Assert.NotEqual(nativeDefault, nativeAvx2);
        Assert.NotEqual(nativeDefault, portable);
    }

    // ResNet50's layer4 shortcut shape: its backward dies with SIGFPE in oneDNN on CPUs hiding their caches; with
    // oneDNN off nothing of that path runs.
    [Fact]
    public void Probe_WideStrided1x1Backward_PortableCompletesWhereNativeDiesOfSigfpe()
    {
        var portable = Probe(NoCaps, [], "portable", "conv1x1s2-1024");
        Assert.Matches("^y=[0-9a-f]{12} dx=[0-9a-f]{12} dw=[0-9a-f]{12}$", portable["conv1x1s2-1024"]);

        if (X86Cpu.Current() is { L1d: X86Cpu.Hidden })
        {
            var (exitCode, _) = HostProcess.Exec(Directory.GetCurrentDirectory(), "numerics-probe", "--items", "conv1x1s2-1024");
            Assert.Equal("SIGFPE", ProcessSignals.Describe(exitCode)?.Split(' ')[0]);
        }
    }

    // Another CPU kind, emulated: QEMU's EPYC model (AMD family 23, AVX2 without AVX-512), where native mode computes
    // other bytes than this machine in every convolution (docs/numerics.md). Not an Intel model: under QEMU 7.2's TCG
    // the host dies with SIGSEGV inside the emulator on -cpu Haswell in two runs of three (MKL's Intel code paths), and
    // on the 'elementwise' item on every model, and now and then on EPYC too: a run that dies inside QEMU is retried.
    [RequiresFact(ExternalSystem.Qemu)]
    public void Probe_EmulatedEpycZen1_PortableSameBytesAsThisCpu()
    {
        string[] items = ["conv3x3", "conv1x1s2", "linear"];

        var here = Probe(NoCaps, [], "portable", items);
        var epyc = Retry(() => Probe(NoCaps, [ExternalSystems.Qemu, "-cpu", "EPYC"], "portable", items));

        Assert.Equal(here, epyc);
    }

    // Up to three attempts: QEMU's own SIGSEGV (exit 139) is the emulator's, not the host's; anything else fails at once.
    private static T Retry<T>(Func<T> attempt)
    {
        for (int i = 1; ; i++)
        {
            try
            {
                return attempt();
            }
            catch (Exception e) when (i < 3 && e.Message.Contains("exited with 139", StringComparison.Ordinal))
            {
            }
        }
    }
}
