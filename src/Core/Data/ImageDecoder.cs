using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Repro.Core.Data;

/// <summary>
/// JPEG/PNG/BMP/WebP decoding with SkiaSharp. Like PIL's <c>Image.open(f).convert("RGB")</c> (what
/// torchvision's default loader does) it ignores EXIF orientation and ICC profiles, drops alpha, and
/// turns grayscale into three equal channels.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Decodes <paramref name="path"/>; for JPEG, with libjpeg-turbo's DCT scaling to the smallest
    /// M/8 size whose short side is still at least <paramref name="minShortSide"/> (much cheaper than a full
    /// decode followed by a downscale).</summary>
    public static RgbImage Decode(string path, int? minShortSide = null)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new DataException(path, "cannot read the image file.", e);
        }
        return Decode(bytes, path, minShortSide);
    }

    public static RgbImage Decode(byte[] encoded, string nameForErrors, int? minShortSide = null)
    {
        using var stream = new SKMemoryStream(encoded);
        using var codec = SKCodec.Create(stream, out var createResult);
        if (codec is null)
        {
            throw new DataException(nameForErrors, $"not a decodable image (JPEG, PNG, BMP or WebP expected; SkiaSharp: {createResult}).");
        }
        var size = codec.Info.Size;
        if (minShortSide is int m && m > 0 && codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
        {
            for (var k = 1; k < 8; k++)
            {
                var d = codec.GetScaledDimensions(k / 8f);
                if (Math.Min(d.Width, d.Height) >= m)
                {
                    size = d;
                    break;
                }
            }
        }
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        SKCodecResult result;
        var pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            result = codec.GetPixels(info, pin.AddrOfPinnedObject());
        }
        finally
        {
            pin.Free();
        }
        if (result != SKCodecResult.Success)
        {
            throw new DataException(nameForErrors, $"corrupt or truncated image (SkiaSharp: {result}).");
        }
        return new RgbImage(size.Width, size.Height, DropAlpha(rgba, size.Width * size.Height));
    }

    /// <summary>True when the file decodes completely (at the smallest JPEG scale, to keep a full check cheap).</summary>
    public static bool IsDecodable(string path)
    {
        try
        {
            Decode(path, 1);
            return true;
        }
        catch (DataException)
        {
            return false;
        }
    }

    // Skia decodes to 4 bytes per pixel; the contract is 3. Refs skip range checks in this per-pixel loop.
    private static byte[] DropAlpha(byte[] rgba, int n)
    {
        var rgb = new byte[n * 3];
        ref var s = ref MemoryMarshal.GetArrayDataReference(rgba);
        ref var d = ref MemoryMarshal.GetArrayDataReference(rgb);
        for (var i = 0; i < n; i++)
        {
            Unsafe.Add(ref d, 3 * i) = Unsafe.Add(ref s, 4 * i);
            Unsafe.Add(ref d, 3 * i + 1) = Unsafe.Add(ref s, 4 * i + 1);
            Unsafe.Add(ref d, 3 * i + 2) = Unsafe.Add(ref s, 4 * i + 2);
        }
        return rgb;
    }
}
