using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Reports;
using Repro.Core.Tests.Data;
using SkiaSharp;

namespace Repro.Core.Tests.Reports;

public sealed class PlotsTests
{
    private static SKBitmap Decode(string path) => SKBitmap.Decode(path) ?? throw new InvalidDataException($"{path} is not an image");

    private static SKColor At(SKBitmap image, double x, double y) => image.GetPixel((int)(x * image.Width), (int)(y * image.Height));

    [Fact]
    public void Curves_ThreeEpochs_WidePngWithBothPanels()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "curves.png");
        var history = Enumerable.Range(1, 3).Select(e => new EpochRecord(e, 1.0 / e, 0.5 + 0.1 * e, 1.2 / e, 0.45 + 0.1 * e, 0.001, 1, 100)).ToList();

        Plots.Curves(path, "tiny", history);

        using var image = Decode(path);
        Assert.Equal((1200, 480), (image.Width, image.Height));
    }

    [Fact]
    public void Confusion_DiagonalMatrix_DiagonalDarkOffDiagonalWhite()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "confusion.png");
        var metrics = new TestMetrics(["a", "b"], new long[,] { { 40, 0 }, { 0, 40 } }, 0, 0);

        Plots.Confusion(path, "tiny", metrics);

        using var image = Decode(path);
        Assert.Equal((700, 700), (image.Width, image.Height));
        // Scan the middle row of pixels left to right: a full count cell (dark blue) must come before an empty
        // one (white) on the upper half, the other way round on the lower half, with the grid where its labels are.
        var top = Enumerable.Range(0, image.Width).Select(x => image.GetPixel(x, (int)(image.Height * 0.35))).ToList();
        var bottom = Enumerable.Range(0, image.Width).Select(x => image.GetPixel(x, (int)(image.Height * 0.62))).ToList();
        int firstDarkTop = top.FindIndex(IsDarkBlue);
        int firstDarkBottom = bottom.FindIndex(IsDarkBlue);
        Assert.InRange(firstDarkTop, 0, image.Width / 2);
        Assert.True(firstDarkBottom > firstDarkTop + 100, $"lower-right cell starts at x={firstDarkBottom}, upper-left at x={firstDarkTop}");
    }

    private static bool IsDarkBlue(SKColor c) => c.Blue > 90 && c.Red < 30 && c.Green < 70;
}
