using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class TransformsTests
{
    /// <summary>The 10x6 test pattern of <see cref="Fixtures.Pattern"/>.</summary>
    internal static RgbImage PatternImage(int width = 10, int height = 6)
    {
        var px = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = Fixtures.Pattern(x, y);
                var o = (y * width + x) * 3;
                (px[o], px[o + 1], px[o + 2]) = (r, g, b);
            }
        }
        return new RgbImage(width, height, px);
    }

    private static byte[] Flat(params (byte R, byte G, byte B)[] pixels) => pixels.SelectMany(p => new[] { p.R, p.G, p.B }).ToArray();

    // Expected pixels below were produced by Pillow 9.4 (Debian python3-pil) on the same pattern:
    // Image.resize(size, Image.BILINEAR), img.crop(box).resize(...), torchvision 0.14 F.resize + F.center_crop.

    [Fact]
    public void Resample_Downscale_MatchesPillowBilinear()
    {
        var img = Transforms.Resample(PatternImage(), 0, 0, 10, 6, 4, 3);

        Assert.Equal(Flat(
            (13, 12, 7), (42, 12, 18), (75, 12, 31), (104, 12, 42),
            (13, 43, 13), (42, 43, 24), (75, 43, 37), (104, 43, 48),
            (13, 73, 18), (42, 73, 29), (75, 73, 42), (104, 73, 53)), img.Pixels);
    }

    [Fact]
    public void Resample_Upscale_MatchesPillowBilinear()
    {
        var img = Transforms.Resample(PatternImage(), 0, 0, 10, 6, 13, 8);

        Assert.Equal(Flat(
            (0, 0, 0), (9, 0, 3), (18, 0, 7), (29, 0, 11), (39, 0, 15), (48, 0, 19), (59, 0, 23),
            (69, 0, 26), (78, 0, 30), (88, 0, 34), (99, 0, 38), (108, 0, 42), (117, 0, 45), (0, 11, 2)), img.Pixels[..42]);
    }

    [Fact]
    public void Resample_CropBox_MatchesPillowCropThenResize()
    {
        // PIL box (1, 2, 8, 5): left 1, top 2, width 7, height 3, resized to 5x5.
        var img = Transforms.Resample(PatternImage(), 1, 2, 7, 3, 5, 5);

        Assert.Equal(Flat(
            (17, 34, 13), (33, 34, 19), (52, 34, 26), (71, 34, 33), (87, 34, 39),
            (17, 41, 14), (33, 41, 20), (52, 41, 27), (71, 41, 34), (87, 41, 40),
            (17, 51, 16), (33, 51, 22), (52, 51, 29), (71, 51, 36), (87, 51, 42),
            (17, 61, 18), (33, 61, 24), (52, 61, 31), (71, 61, 38), (87, 61, 44),
            (17, 68, 19), (33, 68, 25), (52, 68, 32), (71, 68, 39), (87, 68, 45)), img.Pixels);
    }

    [Fact]
    public void ResizeShortSideThenCenterCrop_MatchesTorchvision()
    {
        var resized = Transforms.ResizeShortSide(PatternImage(), 4);
        var (top, left) = Transforms.CenterCropOrigin(resized.Width, resized.Height, 3);
        var crop = Transforms.Crop(resized, top, left, 3, 3);

        Assert.Equal((6, 4), (resized.Width, resized.Height));
        Assert.Equal(Flat(
            (49, 6, 20), (68, 6, 27), (91, 6, 36),
            (49, 30, 24), (68, 30, 31), (91, 30, 40),
            (49, 55, 29), (68, 55, 36), (91, 55, 45)), crop.Pixels);
    }

    private static string Sha(RgbImage img) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(img.Pixels));

    // Rows of 120 pixels are long enough for the vectorised vertical pass; the expected hashes are SHA-256 of
    // Pillow's output bytes for the same pattern and boxes.
    [Theory]
    [InlineData(0, 0, 120, 90, 37, 23, "3e34d5d330d1f5fc230f72121313e723db3d278bf699192a6a9bd6dbb4d47b40")]
    [InlineData(5, 7, 101, 64, 64, 64, "ae9239819434e75b30e40813c79474ee9b03eb1ea74ffff27ee8e45bbf8ddf16")]
    [InlineData(3, 2, 40, 30, 64, 64, "97b3747ccc7c8281212cfa27f82d774c8269977798bf3a6a3ba827bff05fcd08")]
    public void Resample_LargerImage_MatchesPillowByteForByte(int left, int top, int w, int h, int outW, int outH, string pillowSha256)
    {
        var img = Transforms.Resample(PatternImage(120, 90), left, top, w, h, outW, outH);

        Assert.Equal(pillowSha256, Sha(img));
    }

    [Fact]
    public void ResizeThenCenterCrop_LargerImage_MatchesTorchvisionByteForByte()
    {
        // torchvision 0.14: F.center_crop(F.resize(img, 50), 44) on the 120x90 pattern.
        var img = Transforms.ResizeThenCenterCrop(PatternImage(120, 90), 50, 44);

        Assert.Equal("941e018a84a88a65b58ba11810a02f279fa09567ff77ed633fb1b5289296a927", Sha(img));
    }

    [Fact]
    public void ShortSideSize_TruncatesTheLongSideAsTorchvision()
    {
        Assert.Equal((341, 256), Transforms.ShortSideSize(500, 375, 256));
        Assert.Equal((256, 341), Transforms.ShortSideSize(375, 500, 256));
    }

    [Fact]
    public void CenterCropOrigin_HalfPixel_RoundsHalfToEvenAsPython()
    {
        // (341 - 224) / 2 = 58.5 -> 58; (343 - 224) / 2 = 59.5 -> 60.
        Assert.Equal((0, 58), Transforms.CenterCropOrigin(341, 224, 224));
        Assert.Equal((0, 60), Transforms.CenterCropOrigin(343, 224, 224));
    }

    [Fact]
    public void RandomResizedCropParams_ManyDraws_BoxesInsideWithAreaAndRatioInRange()
    {
        var rng = SeededRandom.Create(5);
        for (var n = 0; n < 2000; n++)
        {
            var (top, left, h, w) = Transforms.RandomResizedCropParams(500, 375, rng);

            Assert.InRange(top, 0, 375 - h);
            Assert.InRange(left, 0, 500 - w);
            // Rounding to whole pixels moves area and ratio slightly past the bounds.
            Assert.InRange((double)w * h / (500 * 375), 0.075, 1.0);
            Assert.InRange((double)w / h, 0.72, 1.36);
        }
    }

    [Fact]
    public void RandomResizedCropParams_NoAttemptFits_FallsBackToCentreCrop()
    {
        var (top, left, h, w) = Transforms.RandomResizedCropParams(100, 1, SeededRandom.Create(1));

        // Too wide for ratio 4/3: height 1, width round(4/3) = 1, centred.
        Assert.Equal((0, 49, 1, 1), (top, left, h, w));
    }

    [Fact]
    public void NormalizationTable_EqualsTorchToTensorNormalizeBitForBit()
    {
        var table = Normalization.ImageNet.Table();

        // torch: Normalize(ImageNet)(ToTensor()(pixel (33, 12, 15))) as float32 bit patterns.
        Assert.Equal(3217473979u, BitConverter.SingleToUInt32Bits(table[33]));
        Assert.Equal(3219762752u, BitConverter.SingleToUInt32Bits(table[256 + 12]));
        Assert.Equal(3217391933u, BitConverter.SingleToUInt32Bits(table[512 + 15]));
    }
}
