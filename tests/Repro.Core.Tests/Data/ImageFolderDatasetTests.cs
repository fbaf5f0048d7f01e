using Repro.Config;
using Repro.Core.Data;
using SkiaSharp;

namespace Repro.Core.Tests.Data;

public class ImageFolderDatasetTests
{
    private static string Tree(TempDir dir)
    {
        var root = dir.Sub("flower_photos");
        Fixtures.WriteImage(Path.Combine(root, "tulips", "b.jpg"), 20, 10);
        Fixtures.WriteImage(Path.Combine(root, "tulips", "a.png"), 20, 10, SKEncodedImageFormat.Png);
        Fixtures.WriteImage(Path.Combine(root, "daisy", "sub", "z.jpg"), 20, 10);
        Fixtures.WriteImage(Path.Combine(root, "Roses", "x.JPG"), 20, 10);
        File.WriteAllText(Path.Combine(root, "LICENSE.txt"), "not a class");
        File.WriteAllText(Path.Combine(root, "daisy", "notes.txt"), "not an image");
        return root;
    }

    [Fact]
    public void Open_ClassFolders_ClassesSortedOrdinallyAndFilesRecursive()
    {
        using var dir = new TempDir();

        var ds = Datasets.Open(DatasetKind.Flower, Tree(dir));

        Assert.Equal(["Roses", "daisy", "tulips"], ds.Classes);
        Assert.Equal(
            [new Sample("Roses/x.JPG", 0), new Sample("daisy/sub/z.jpg", 1), new Sample("tulips/a.png", 2), new Sample("tulips/b.jpg", 2)],
            ds.Samples);
        Assert.Null(ds.OfficialSplit);
    }

    [Fact]
    public void Load_Png_ReturnsExactPixels()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.ImageFolder, Tree(dir));

        var img = ds.Load(2);

        Assert.Equal((20, 10), (img.Width, img.Height));
        var (r, g, b) = Fixtures.Pattern(7, 3);
        var p = (3 * 20 + 7) * 3;
        Assert.Equal(new[] { r, g, b }, img.Pixels[p..(p + 3)]);
    }

    [Fact]
    public void Load_GrayscalePng_ReturnsThreeEqualChannels()
    {
        using var dir = new TempDir();
        var root = dir.Sub("gray");
        using (var bmp = new SKBitmap(new SKImageInfo(4, 2, SKColorType.Gray8, SKAlphaType.Opaque)))
        {
            bmp.SetPixel(1, 1, new SKColor(90, 90, 90));
            using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
            Directory.CreateDirectory(Path.Combine(root, "c"));
            File.WriteAllBytes(Path.Combine(root, "c", "g.png"), data.ToArray());
        }

        var img = Datasets.Open(DatasetKind.ImageFolder, root).Load(0);

        Assert.Equal(new byte[] { 90, 90, 90 }, img.Pixels[15..18]);
    }

    [Fact]
    public void Load_LargeJpegWithMinShortSide_DecodesScaledNotBelowTheHint()
    {
        using var dir = new TempDir();
        var root = dir.Sub("big");
        Fixtures.WriteImage(Path.Combine(root, "c", "p.jpg"), 400, 300);
        var ds = Datasets.Open(DatasetKind.ImageFolder, root);

        var full = ds.Load(0);
        var scaled = ds.Load(0, minShortSide: 100);

        Assert.Equal((400, 300), (full.Width, full.Height));
        // 3/8 of 300 = 112.5 is the smallest libjpeg-turbo scale whose short side reaches 100.
        Assert.Equal((150, 113), (scaled.Width, scaled.Height));
    }

    [Fact]
    public void Open_EmptyClassFolder_ThrowsNamingTheFolder()
    {
        using var dir = new TempDir();
        var root = Tree(dir);
        var empty = dir.Sub("flower_photos", "sunflowers");

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Flower, root));

        Assert.Equal(empty, e.FilePath);
        Assert.Contains("no images", e.Message);
    }

    [Fact]
    public void Load_TruncatedJpeg_ThrowsNamingTheFile()
    {
        using var dir = new TempDir();
        var root = Tree(dir);
        var bad = Path.Combine(root, "tulips", "b.jpg");
        var bytes = Fixtures.Encode(64, 64, SKEncodedImageFormat.Jpeg);
        File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
        var ds = Datasets.Open(DatasetKind.Flower, root);

        var e = Assert.Throws<DataException>(() => ds.Load(3));

        Assert.Equal(bad, e.FilePath);
    }

    [Fact]
    public void Open_SkipCorruptImages_LeavesOutAndCountsBadFiles()
    {
        using var dir = new TempDir();
        var root = Tree(dir);
        File.WriteAllBytes(Path.Combine(root, "tulips", "b.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        File.WriteAllText(Path.Combine(root, "daisy", "junk.png"), "not a png");

        var ds = Datasets.Open(DatasetKind.Flower, root, new DatasetOptions(SkipCorruptImages: true));

        Assert.Equal(["daisy/junk.png", "tulips/b.jpg"], ds.SkippedFiles.Order(StringComparer.Ordinal));
        Assert.Equal(["Roses/x.JPG", "daisy/sub/z.jpg", "tulips/a.png"], ds.Samples.Select(s => s.Path));
        var manifest = Splits.WriteManifest(ds, Splits.Stratified(ds, 0, 1), Path.Combine(dir.Path, "m.tsv"));
        var lines = File.ReadAllLines(manifest.Path);
        Assert.Equal(["# skipped\tdaisy/junk.png", "# skipped\ttulips/b.jpg"], lines[2..4]);
    }

    [Fact]
    public void ContentHash_IsSha256OfTheFile()
    {
        using var dir = new TempDir();
        var root = Tree(dir);
        var ds = Datasets.Open(DatasetKind.Flower, root);

        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(root, "daisy", "sub", "z.jpg"))));

        Assert.Equal(expected, ds.ContentHash(1));
    }
}
