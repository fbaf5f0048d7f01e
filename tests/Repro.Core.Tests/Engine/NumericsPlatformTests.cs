using System.Reflection;
using System.Text.Json;
using Repro.Core.Engine;
using Repro.Core.Reports;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

[Collection(LibTorchCollection.Name)]
public sealed class NumericsPlatformTests
{
    private static NumericsPlatform Sample() => new(
        "0.107.0", "2.10.0.0", "Intel(R) MKL-DNN v3.7.1 (Git Hash 8d263e693366ef8db40acc569cc7d8edf644556d)", "linux", "glibc 2.36", "x64", "10.0.12",
        "AuthenticAMD", "26", "2", "1", "AMD EPYC", "48 KiB", "1 MiB", "32 MiB", "AVX512", "at::get_cpu_capability()",
        "avx512_core_bf16", "CPUID feature bits", "off", 2, "cpu");

    [Fact]
    public void Current_TwoCalls_SameId()
    {
        TorchRuntime.Configure(2, CPU, tf32: true);

        var first = NumericsPlatform.Current(CPU);
        var second = NumericsPlatform.Current(CPU);

        Assert.Equal(first, second);
        Assert.Equal(first.Id, second.Id);
        Assert.Matches("^[0-9a-f]{16}$", first.Id);
    }

    [Fact]
    public void Current_Cpu_ThreadsReadBackAndNoGpuFields()
    {
        TorchRuntime.Configure(1, CPU, tf32: true);

        var platform = NumericsPlatform.Current(CPU);

        Assert.Equal(1, platform.Threads);
        Assert.Equal("cpu", platform.Device);
        Assert.DoesNotContain(platform.Fields, f => f.Key.StartsWith("gpu", StringComparison.Ordinal) || f.Key.StartsWith("cud", StringComparison.Ordinal));
        Assert.NotEqual(NumericsPlatform.Unknown, platform.AtenIsa);
    }

    [Fact]
    public void Id_AnyFieldChanged_IdChanges()
    {
        var sample = Sample();
        var properties = typeof(NumericsPlatform).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && (p.PropertyType == typeof(string) || p.PropertyType == typeof(int)))
            .ToList();
        Assert.Equal(35, properties.Count);

        foreach (var property in properties)
        {
            var changed = Sample();
            object value = property.PropertyType == typeof(int) ? 3 : (property.GetValue(sample) as string ?? "") + "x";
            property.SetValue(changed, value);

            Assert.True(changed.Id != sample.Id, property.Name);
        }
    }

    [Fact]
    public void Canonical_Sample_SortedKeyValueLines()
    {
        string canonical = Sample().Canonical;
        var keys = canonical.TrimEnd('\n').Split('\n').Select(l => l[..l.IndexOf('=')]).ToList();

        Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), keys);
        Assert.Contains("cache_l1d=48 KiB\n", canonical);
        Assert.EndsWith("torchsharp=0.107.0\n", canonical);
    }

    [Fact]
    public void Fields_CudaValuesPresent_IncludedAndSorted()
    {
        var cuda = Sample() with { Device = "cuda", GpuName = "NVIDIA H200", GpuCapability = "9.0", CudaDriver = "13.0", Cudnn = "9.10.2",
            CudaMatmulTf32 = "on", CudnnTf32 = "on", CudaBf16Reduction = "1" };

        Assert.Contains(new KeyValuePair<string, string>("gpu_capability", "9.0"), cuda.Fields);
        Assert.Equal(29, cuda.Fields.Count);
        Assert.NotEqual(Sample().Id, cuda.Id);
    }

    // The platform of results/experiments.lock.json (2026-12, an AMD EPYC family 23 with AVX2): fields recorded before
    // `numerics` existed must still hash to the id the lock holds, or every locked result would stop matching.
    [Fact]
    public void Id_FieldsOfTheLockedPlatform_TheLockedId()
    {
        var locked = new NumericsPlatform("0.107.0", "2.10.0.0", "Intel(R) MKL-DNN v3.7.1 (Git Hash 8d263e693366ef8db40acc569cc7d8edf644556d)",
            "linux", "glibc 2.36", "x64", "10.0.12", "AuthenticAMD", "23", "1", "2", "AMD EPYC", "32 KiB", "512 KiB", "8 MiB",
            "AVX2", "at::get_cpu_capability()", "avx2", "CPUID feature bits (dnnl_get_effective_cpu_isa not exported)", "off", 2, "cpu");

        Assert.Equal("c754b00d8354bdd9", locked.Id);
        Assert.DoesNotContain(locked.Fields, f => f.Key is "numerics" or "isa_class" or "mkl_cbwr" or "mkl_vml" or "onednn_enabled" or "nnpack_enabled");
    }

    [Fact]
    public void AsPortable_CpusOfOtherVendorsModelsAndCaches_OneId()
    {
        var zen5 = Sample();
        var intel = Sample() with
        {
            CpuVendor = "GenuineIntel", CpuFamily = "6", CpuModel = "207", CpuStepping = "2", CpuBrand = "INTEL(R) XEON(R) PLATINUM 8580",
            CacheL1d = "48 KiB", CacheL2 = "2 MiB", CacheL3 = "300 MiB",
        };
        var hidden = Sample() with { CacheL1d = X86Cpu.Hidden, CacheL2 = X86Cpu.Hidden, CacheL3 = X86Cpu.Hidden };

        Assert.Equal(3, new[] { zen5.Id, intel.Id, hidden.Id }.Distinct().Count());
        var portable = new[] { zen5, intel, hidden }.Select(p => p.AsPortable("off", "off").Id).Distinct();
        Assert.Equal(zen5.AsPortable("off", "off").Id, Assert.Single(portable));
        Assert.NotEqual(zen5.Id, zen5.AsPortable("off", "off").Id);
    }

    [Fact]
    public void AsPortable_Fields_NameTheClassAndPinsNotTheCpu()
    {
        var fields = Sample().AsPortable("off", "off").Fields.ToDictionary(f => f.Key, f => f.Value);

        Assert.DoesNotContain(fields.Keys, k => k.StartsWith("cpu_", StringComparison.Ordinal) || k.StartsWith("cache_", StringComparison.Ordinal));
        Assert.Equal("portable", fields["numerics"]);
        Assert.Equal(PortableNumerics.IsaClass, fields["isa_class"]);
        Assert.Equal("COMPATIBLE", fields["mkl_cbwr"]);
        Assert.Equal("code path 3 (AVX2)", fields["mkl_vml"]);
        Assert.Equal(("off", "off"), (fields["onednn_enabled"], fields["nnpack_enabled"]));
        Assert.Equal("2", fields["threads"]);
    }

    [Fact]
    public void MetricsJsonWrite_WithPlatform_PlatformObjectAfterEpochsBeforeTest()
    {
        var metrics = new TestMetrics(["a", "b"], new long[,] { { 1, 0 }, { 0, 1 } }, 1.0, 2);
        string text = MetricsJson.Write("e", "c", "d", metrics, [], Sample());

        using var json = JsonDocument.Parse(text);
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.IndexOf("epochs") + 1, names.IndexOf("platform"));
        Assert.Equal(names.IndexOf("platform") + 1, names.IndexOf("test"));
        var platform = json.RootElement.GetProperty("platform");
        Assert.Equal(Sample().Id, platform.GetProperty("id").GetString());
        Assert.Equal("AVX512", platform.GetProperty("aten_isa").GetString());
        Assert.Equal("2", platform.GetProperty("threads").GetString());
    }
}
