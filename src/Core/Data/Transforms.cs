namespace Repro.Core.Data;

/// <summary>Per-channel normalisation applied after scaling pixels to [0, 1], as torchvision's ToTensor + Normalize.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>ImageNet statistics, for ImageNet-pretrained weights (torchvision's model documentation).</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Mean 0.5, std 0.5 per channel, as the tutorial used.</summary>
    public static Normalization Half { get; } = new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    /// <summary>Value of byte <c>b</c> in channel <c>c</c> at [c * 256 + b], computed with torch's float32 steps
    /// (b / 255, then (x - mean) / std) so the results equal ToTensor + Normalize bit for bit.</summary>
    internal float[] Table()
    {
        if (Mean.Length != 3 || Std.Length != 3)
        {
            throw new ArgumentException("Normalization needs 3 means and 3 standard deviations (RGB).");
        }
        var t = new float[3 * 256];
        for (var c = 0; c < 3; c++)
        {
            for (var b = 0; b < 256; b++)
            {
                var x = b / 255f;
                t[c * 256 + b] = (x - Mean[c]) / Std[c];
            }
        }
        return t;
    }
}

/// <summary>
/// What the loader does to each image. <paramref name="Augment"/> true: RandomResizedCrop(Crop, scale 0.08-1,
/// ratio 3/4-4/3, bilinear) and a random horizontal flip; false: resize the short side to
/// <see cref="ResizeSize"/> (= floor(Crop / 0.875), 256 for 224) and take the centre Crop x Crop, never random.
/// </summary>
public sealed record InputPipeline(int Crop, bool Augment, Normalization Normalization)
{
    public int ResizeSize => (int)Math.Floor(Crop / 0.875 + 1e-9);
}

/// <summary>
/// The geometric transforms, ported from torchvision 0.14 on PIL images and from Pillow's resampler, so
/// that the same crop box gives the same pixels as torchvision.
/// </summary>
public static class Transforms
{
    /// <summary>
    /// torchvision/transforms/transforms.py <c>RandomResizedCrop.get_params</c>: ten attempts at a box with a
    /// random area fraction and log-uniform aspect ratio, then the centre-crop fallback. Python's round is
    /// round-half-to-even, as is Math.Round's default. Returns (top, left, height, width).
    /// </summary>
    public static (int Top, int Left, int Height, int Width) RandomResizedCropParams(
        int width, int height, Xoshiro256StarStar rng,
        double scaleMin = 0.08, double scaleMax = 1.0, double ratioMin = 3.0 / 4.0, double ratioMax = 4.0 / 3.0)
    {
        var area = (double)width * height;
        var logMin = Math.Log(ratioMin);
        var logMax = Math.Log(ratioMax);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var targetArea = area * rng.NextDouble(scaleMin, scaleMax);
            var aspect = Math.Exp(rng.NextDouble(logMin, logMax));
            var w = (int)Math.Round(Math.Sqrt(targetArea * aspect));
            var h = (int)Math.Round(Math.Sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height)
            {
                var i = rng.NextInt(height - h + 1);
                var j = rng.NextInt(width - w + 1);
                return (i, j, h, w);
            }
        }
        var inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < Math.Min(ratioMin, ratioMax))
        {
            cw = width;
            ch = (int)Math.Round(cw / Math.Min(ratioMin, ratioMax));
        }
        else if (inRatio > Math.Max(ratioMin, ratioMax))
        {
            ch = height;
            cw = (int)Math.Round(ch * Math.Max(ratioMin, ratioMax));
        }
        else
        {
            cw = width;
            ch = height;
        }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <summary>torchvision/transforms/functional.py <c>_compute_resized_output_size</c> for an int size:
    /// the short side becomes <paramref name="size"/>, the long side int(size * long / short).</summary>
    public static (int Width, int Height) ShortSideSize(int width, int height, int size)
    {
        if (width <= height)
        {
            return (size, (int)((long)size * height / width));
        }
        return ((int)((long)size * width / height), size);
    }

    /// <summary>torchvision/transforms/functional.py <c>center_crop</c>: top = int(round((h - ch) / 2)).
    /// The image must be at least the crop size (the evaluation resize guarantees it).</summary>
    public static (int Top, int Left) CenterCropOrigin(int width, int height, int crop) =>
        ((int)Math.Round((height - crop) / 2.0), (int)Math.Round((width - crop) / 2.0));

    /// <summary>Resize the short side to <paramref name="size"/> with Pillow's antialiased bilinear filter.</summary>
    public static RgbImage ResizeShortSide(RgbImage img, int size)
    {
        var (w, h) = ShortSideSize(img.Width, img.Height, size);
        return Resample(img, 0, 0, img.Width, img.Height, w, h);
    }

    /// <summary>Copies a crop box out of an image.</summary>
    public static RgbImage Crop(RgbImage img, int top, int left, int height, int width)
    {
        if (top < 0 || left < 0 || top + height > img.Height || left + width > img.Width)
        {
            throw new ArgumentOutOfRangeException(nameof(top), $"Crop box {left},{top} {width}x{height} is outside the {img.Width}x{img.Height} image.");
        }
        var dst = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
        {
            Array.Copy(img.Pixels, ((top + y) * img.Width + left) * 3, dst, y * width * 3, width * 3);
        }
        return new RgbImage(width, height, dst);
    }

    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// Crops the box (<paramref name="left"/>, <paramref name="top"/>, <paramref name="boxWidth"/>,
    /// <paramref name="boxHeight"/>) and resizes it to <paramref name="outWidth"/> x <paramref name="outHeight"/>
    /// exactly as PIL's <c>img.crop(box).resize(size, BILINEAR)</c>: Pillow src/libImaging/Resample.c
    /// (<c>precompute_coeffs</c>, <c>normalize_coeffs_8bpc</c>, horizontal pass then vertical pass over
    /// only the rows the vertical pass needs, 8-bit intermediate, 22-bit fixed point with rounding).
    /// The triangle filter widens by the downscale factor, which is PIL's antialiasing.
    /// </summary>
    public static RgbImage Resample(RgbImage src, int left, int top, int boxWidth, int boxHeight, int outWidth, int outHeight)
    {
        if (left < 0 || top < 0 || boxWidth <= 0 || boxHeight <= 0 || left + boxWidth > src.Width || top + boxHeight > src.Height)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"Box {left},{top} {boxWidth}x{boxHeight} is outside the {src.Width}x{src.Height} image.");
        }
        if (boxWidth == outWidth && boxHeight == outHeight)
        {
            return Crop(src, top, left, boxHeight, boxWidth);
        }
        var (kh, boundsH, ksizeH) = Coefficients(boxWidth, outWidth);
        var (kv, boundsV, ksizeV) = Coefficients(boxHeight, outHeight);

        // Rows of the box the vertical pass reads.
        var yFirst = boundsV[0];
        var yLast = boundsV[(outHeight - 1) * 2] + boundsV[(outHeight - 1) * 2 + 1];
        var tmpHeight = yLast - yFirst;
        byte[] tmp;
        int tmpWidth;
        if (boxWidth != outWidth)
        {
            tmpWidth = outWidth;
            tmp = new byte[tmpWidth * tmpHeight * 3];
            HorizontalPass(src.Pixels, src.Width, left, top + yFirst, tmpHeight, tmp, outWidth, kh, boundsH, ksizeH);
        }
        else
        {
            tmpWidth = boxWidth;
            tmp = Crop(src, top + yFirst, left, tmpHeight, boxWidth).Pixels;
        }
        if (boxHeight == outHeight)
        {
            return new RgbImage(outWidth, outHeight, tmp);
        }
        var dst = new byte[outWidth * outHeight * 3];
        VerticalPass(tmp, tmpWidth, yFirst, dst, outHeight, kv, boundsV, ksizeV);
        return new RgbImage(outWidth, outHeight, dst);
    }

    private static (int[] K, int[] Bounds, int KSize) Coefficients(int inSize, int outSize)
    {
        // Pillow: scale = (in1 - in0) / outSize; filterscale = max(scale, 1); support = 1.0 * filterscale.
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 1.0 * filterScale;
        var ksize = (int)Math.Ceiling(support) * 2 + 1;
        var kk = new double[outSize * ksize];
        var k = new int[outSize * ksize];
        var bounds = new int[outSize * 2];
        var ss = 1.0 / filterScale;
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = (xx + 0.5) * scale;
            var xmin = (int)(center - support + 0.5);
            if (xmin < 0)
            {
                xmin = 0;
            }
            var xmax = (int)(center + support + 0.5);
            if (xmax > inSize)
            {
                xmax = inSize;
            }
            xmax -= xmin;
            var ww = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var t = Math.Abs((x + xmin - center + 0.5) * ss);
                var w = t < 1.0 ? 1.0 - t : 0.0;
                kk[xx * ksize + x] = w;
                ww += w;
            }
            for (var x = 0; x < xmax; x++)
            {
                if (ww != 0.0)
                {
                    kk[xx * ksize + x] /= ww;
                }
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        for (var i = 0; i < kk.Length; i++)
        {
            k[i] = kk[i] < 0
                ? (int)(-0.5 + kk[i] * (1 << PrecisionBits))
                : (int)(0.5 + kk[i] * (1 << PrecisionBits));
        }
        return (k, bounds, ksize);
    }

    private static byte Clip8(int v)
    {
        var s = v >> PrecisionBits;
        return s < 0 ? (byte)0 : s > 255 ? (byte)255 : (byte)s;
    }

    private static void HorizontalPass(byte[] src, int srcWidth, int left, int top, int rows, byte[] dst, int outWidth, int[] k, int[] bounds, int ksize)
    {
        const int half = 1 << (PrecisionBits - 1);
        for (var y = 0; y < rows; y++)
        {
            var srcRow = ((top + y) * srcWidth + left) * 3;
            var dstRow = y * outWidth * 3;
            for (var xx = 0; xx < outWidth; xx++)
            {
                var xmin = bounds[xx * 2];
                var xmax = bounds[xx * 2 + 1];
                var kOff = xx * ksize;
                int r = half, g = half, b = half;
                var p = srcRow + xmin * 3;
                for (var x = 0; x < xmax; x++, p += 3)
                {
                    var w = k[kOff + x];
                    r += src[p] * w;
                    g += src[p + 1] * w;
                    b += src[p + 2] * w;
                }
                var o = dstRow + xx * 3;
                dst[o] = Clip8(r);
                dst[o + 1] = Clip8(g);
                dst[o + 2] = Clip8(b);
            }
        }
    }

    private static void VerticalPass(byte[] src, int width, int yFirst, byte[] dst, int outHeight, int[] k, int[] bounds, int ksize)
    {
        const int half = 1 << (PrecisionBits - 1);
        var rowLen = width * 3;
        var acc = new int[rowLen];
        for (var yy = 0; yy < outHeight; yy++)
        {
            var ymin = bounds[yy * 2] - yFirst;
            var ymax = bounds[yy * 2 + 1];
            var kOff = yy * ksize;
            Array.Fill(acc, half);
            for (var y = 0; y < ymax; y++)
            {
                var w = k[kOff + y];
                var row = src.AsSpan((ymin + y) * rowLen, rowLen);
                for (var i = 0; i < rowLen; i++)
                {
                    acc[i] += row[i] * w;
                }
            }
            var o = yy * rowLen;
            for (var i = 0; i < rowLen; i++)
            {
                dst[o + i] = Clip8(acc[i]);
            }
        }
    }

    /// <summary>Writes an RGB image as normalised CHW floats into <paramref name="dst"/>, mirrored left-right when
    /// <paramref name="flip"/> (torchvision's hflip), using a table from <see cref="Normalization.Table"/>.</summary>
    internal static void WriteChw(RgbImage img, bool flip, float[] table, Span<float> dst)
    {
        var w = img.Width;
        var plane = w * img.Height;
        var px = img.Pixels;
        var r = dst[..plane];
        var g = dst.Slice(plane, plane);
        var b = dst.Slice(2 * plane, plane);
        for (var y = 0; y < img.Height; y++)
        {
            var row = y * w;
            for (var x = 0; x < w; x++)
            {
                var s = (row + (flip ? w - 1 - x : x)) * 3;
                var d = row + x;
                r[d] = table[px[s]];
                g[d] = table[256 + px[s + 1]];
                b[d] = table[512 + px[s + 2]];
            }
        }
    }
}
