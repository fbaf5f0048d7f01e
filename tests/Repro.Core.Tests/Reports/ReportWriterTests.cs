using Repro.Core.Engine;
using Repro.Core.Reports;

namespace Repro.Core.Tests.Reports;

public sealed class ReportWriterTests
{
    private static ReportData Data(IReadOnlyCollection<string>? skipped, string? classifier) => new(
        "x", "", "{}", "f", "ds (imagefolder, 2 classes, 12 images)", new string('0', 64), 10, 2, "full fine-tune", "",
        new TestMetrics(["a", "b"], new long[,] { { 1, 0 }, { 0, 1 } }, 1.0, 2), [],
        new Provenance("c", false, "t", "l", "cpu", 1, "os"), TimeSpan.Zero, TimeSpan.Zero, null, 1, skipped, classifier);

    [Fact]
    public void Write_SkippedImages_DataSectionNamesFirstFilesAndCount()
    {
        string report = ReportWriter.Write(Data(["a/5.jpg", "a/1.jpg", "b/2.png", "b/9.png"], null));

        Assert.Contains("- Dataset: ds (imagefolder, 2 classes, 12 images)\n- skip_corrupt: 4 unreadable images skipped: a/1.jpg, a/5.jpg, b/2.png and 1 more\n", report);
    }

    [Fact]
    public void Write_SkipCorruptFoundNothing_SaysNoneSkipped() =>
        Assert.Contains("- skip_corrupt: every image decoded, none skipped\n", ReportWriter.Write(Data([], null)));

    [Fact]
    public void Write_SkipCorruptOff_NoSkipLine() =>
        Assert.DoesNotContain("skip_corrupt", ReportWriter.Write(Data(null, null)));

    [Fact]
    public void Write_Native_NumericsLineAsBefore() =>
        Assert.Contains("- Numerics: float32, LibTorch deterministic algorithms unknown (setting unreachable)\n", ReportWriter.Write(Data(null, null)));

    [Fact]
    public void Write_Portable_NumericsLineNamesTheClassAndThePins()
    {
        var platform = new NumericsPlatform("0.107.0", "2.10.0.0", "v3.7.1", "linux", "glibc 2.36", "x64", "10.0.12", "AuthenticAMD", "26", "2", "1",
            "AMD EPYC", X86Cpu.Hidden, X86Cpu.Hidden, X86Cpu.Hidden, "AVX2", "at::get_cpu_capability()", "avx2", "CPUID", "off", 2, "cpu").AsPortable("off", "off");
        var data = Data(null, null) with
        {
            Provenance = new Provenance("c", false, "t", "l", "cpu", 2, "os", Deterministic: true, Platform: platform, Numerics: Repro.Config.NumericsMode.Portable),
        };

        Assert.Contains("- Numerics: float32, LibTorch deterministic algorithms on, portable numerics: x86-64-v3 (AVX2, FMA), oneDNN off, NNPACK off, "
            + "ATen AVX2, MKL CBWR COMPATIBLE, MKL vector math code path 3 (AVX2) (the same bits on every CPU of the class)\n", ReportWriter.Write(data));
    }

    [Fact]
    public void Write_PretrainedNewHead_DataSectionSaysClassifierReplaced() =>
        Assert.Contains("- Pretrained weights: backbone from the checkpoint; new head: seed MLP, 10 classes; checkpoint's 1000-class fc dropped\n",
            ReportWriter.Write(Data(null, "new head: seed MLP, 10 classes; checkpoint's 1000-class fc dropped")));
}
