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
    public void Write_PretrainedNewHead_DataSectionSaysClassifierReplaced() =>
        Assert.Contains("- Pretrained weights: backbone from the checkpoint; new head: seed MLP, 10 classes; checkpoint's 1000-class fc dropped\n",
            ReportWriter.Write(Data(null, "new head: seed MLP, 10 classes; checkpoint's 1000-class fc dropped")));
}
