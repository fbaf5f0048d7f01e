using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Repro.Core.Data;

/// <summary>Per-channel normalisation applied after scaling pixels to [0, 1], as torchvision's ToTensor + Normalize.</summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>ImageNet statistics, for ImageNet-pretrained weights (torchvision's model documentation).</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Mean 0.5, std 0.5 per channel, as the tutorial used.</summary>
    public static Normalization Half { get; } = new([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    /// <summary>The statistics an experiment's <c>normalize</c> names.</summary>
    public static Normalization Of(Repro.Config.NormalizationKind kind) => kind switch
    {
        Repro.Config.NormalizationKind.ImageNet => ImageNet,
        Repro.Config.NormalizationKind.Half => Half,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

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
/// <param name="DecodeShortSide">Short side JPEGs are decoded (and cached) at, at least; null means
/// <see cref="ResizeSize"/>. Smaller values decode faster through libjpeg-turbo's DCT scaling, at the cost of
/// resolution in small random crops (the crop is then upsampled more than torchvision's full-size decode would);
/// a value above the image's short side (e.g. int.MaxValue) decodes at full size, which for JPEG gives the same
/// bytes as PIL's decode (both are libjpeg-turbo's default islow IDCT with fancy upsampling).</param>
public sealed record InputPipeline(int Crop, bool Augment, Normalization Normalization, int? DecodeShortSide = null)
{
    public int ResizeSize => (int)Math.Floor(Crop / 0.875 + 1e-9);

    public int DecodeSize => DecodeShortSide ?? ResizeSize;
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

    /// <summary>
    /// The training transform's random draws for one sample of one epoch, from its own stream: the crop box
    /// (<see cref="RandomResizedCropParams"/>), then the flip (torchvision's RandomHorizontalFlip, p = 0.5), in the
    /// order torchvision's Compose draws them.
    /// </summary>
    public static ((int Top, int Left, int Height, int Width) Box, bool Flip) RandomAugmentation(int width, int height, ulong seed, int epoch, int sampleIndex)
    {
        var rng = SeededRandom.Stream(RandomStream.Augment, seed, (ulong)epoch, (ulong)sampleIndex);
        var box = RandomResizedCropParams(width, height, rng);
        return (box, rng.NextDouble() < 0.5);
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

    /// <summary>torchvision's evaluation transform: Resize(<paramref name="resize"/>) then CenterCrop(<paramref name="crop"/>),
    /// computing only the crop's pixels.</summary>
    public static RgbImage ResizeThenCenterCrop(RgbImage img, int resize, int crop)
    {
        var (w, h) = ShortSideSize(img.Width, img.Height, resize);
        if (w < crop || h < crop)
        {
            throw new ArgumentOutOfRangeException(nameof(crop), $"Crop {crop} is larger than the resized {w}x{h} image.");
        }
        var (top, left) = CenterCropOrigin(w, h, crop);
        return ResampleWindow(img, 0, 0, img.Width, img.Height, w, h, left, top, crop, crop);
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
    public static RgbImage Resample(RgbImage src, int left, int top, int boxWidth, int boxHeight, int outWidth, int outHeight) =>
        ResampleWindow(src, left, top, boxWidth, boxHeight, outWidth, outHeight, 0, 0, outWidth, outHeight);

    /// <summary>
    /// The window (<paramref name="winLeft"/>, <paramref name="winTop"/>, <paramref name="winWidth"/>,
    /// <paramref name="winHeight"/>) of what <see cref="Resample"/> returns, computing only those pixels: each
    /// output pixel depends only on its own filter taps, so resize-then-centre-crop costs the crop, not the resize.
    /// </summary>
    public static RgbImage ResampleWindow(
        RgbImage src, int left, int top, int boxWidth, int boxHeight, int outWidth, int outHeight,
        int winLeft, int winTop, int winWidth, int winHeight)
    {
        if (left < 0 || top < 0 || boxWidth <= 0 || boxHeight <= 0 || left + boxWidth > src.Width || top + boxHeight > src.Height)
        {
            throw new ArgumentOutOfRangeException(nameof(left), $"Box {left},{top} {boxWidth}x{boxHeight} is outside the {src.Width}x{src.Height} image.");
        }
        if (outWidth <= 0 || outHeight <= 0 || winLeft < 0 || winTop < 0 || winWidth <= 0 || winHeight <= 0
            || winLeft + winWidth > outWidth || winTop + winHeight > outHeight)
        {
            throw new ArgumentOutOfRangeException(nameof(winLeft), $"Window {winLeft},{winTop} {winWidth}x{winHeight} is outside the {outWidth}x{outHeight} output.");
        }
        var needHorizontal = boxWidth != outWidth;
        var needVertical = boxHeight != outHeight;
        int yFirst, tmpHeight;
        int[]? kv = null, boundsV = null;
        var ksizeV = 0;
        if (needVertical)
        {
            (kv, boundsV, ksizeV) = Coefficients(boxHeight, outHeight);
            yFirst = boundsV[winTop * 2];
            var last = winTop + winHeight - 1;
            tmpHeight = boundsV[last * 2] + boundsV[last * 2 + 1] - yFirst;
        }
        else
        {
            yFirst = winTop;
            tmpHeight = winHeight;
        }

        byte[] tmp;
        if (needHorizontal)
        {
            var (kh, boundsH, ksizeH) = Coefficients(boxWidth, outWidth);
            tmp = new byte[winWidth * tmpHeight * 3];
            HorizontalPass(src.Pixels, src.Width, left, top + yFirst, tmpHeight, tmp, winLeft, winWidth, kh, boundsH, ksizeH);
        }
        else
        {
            tmp = Crop(src, top + yFirst, left + winLeft, tmpHeight, winWidth).Pixels;
        }
        if (!needVertical)
        {
            return new RgbImage(winWidth, winHeight, tmp);
        }
        var dst = new byte[winWidth * winHeight * 3];
        VerticalPass(tmp, winWidth, yFirst, dst, winTop, winHeight, kv!, boundsV!, ksizeV);
        return new RgbImage(winWidth, winHeight, dst);
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

    // The passes index through refs: bounds were validated above and the coefficients stay inside the box,
    // and dropping the per-element range checks roughly halves the time of these loops.
    private static void HorizontalPass(byte[] src, int srcWidth, int left, int top, int rows, byte[] dst, int winLeft, int winWidth, int[] k, int[] bounds, int ksize)
    {
        const int half = 1 << (PrecisionBits - 1);
        ref var s0 = ref MemoryMarshal.GetArrayDataReference(src);
        ref var d0 = ref MemoryMarshal.GetArrayDataReference(dst);
        ref var k0 = ref MemoryMarshal.GetArrayDataReference(k);
        ref var b0 = ref MemoryMarshal.GetArrayDataReference(bounds);
        // One pixel's three channels go through one 128-bit lane set: a 4-byte read (R, G, B and the next
        // pixel's R, whose lane is ignored) widened to 4 ints. Only the image's very last pixel cannot be read
        // that way, so the image's last row takes the scalar loop.
        var lastImageRow = src.Length / 3 / srcWidth - 1;
        var halfV = Vector128.Create(half);
        var maxV = Vector128.Create(255);
        for (var y = 0; y < rows; y++)
        {
            ref var srcRow = ref Unsafe.Add(ref s0, ((top + y) * srcWidth + left) * 3);
            ref var dstRow = ref Unsafe.Add(ref d0, y * winWidth * 3);
            if (Vector128.IsHardwareAccelerated && top + y != lastImageRow)
            {
                for (var xx = 0; xx < winWidth; xx++)
                {
                    var ox = winLeft + xx;
                    var xmin = Unsafe.Add(ref b0, ox * 2);
                    var xmax = Unsafe.Add(ref b0, ox * 2 + 1);
                    ref var kk = ref Unsafe.Add(ref k0, ox * ksize);
                    ref var p = ref Unsafe.Add(ref srcRow, xmin * 3);
                    var acc = halfV;
                    for (var x = 0; x < xmax; x++)
                    {
                        var bytes = Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, 3 * x))).AsByte();
                        var ints = Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32();
                        acc += ints * Vector128.Create(Unsafe.Add(ref kk, x));
                    }
                    var c = Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(acc, PrecisionBits), Vector128<int>.Zero), maxV);
                    ref var o = ref Unsafe.Add(ref dstRow, xx * 3);
                    o = (byte)c.GetElement(0);
                    Unsafe.Add(ref o, 1) = (byte)c.GetElement(1);
                    Unsafe.Add(ref o, 2) = (byte)c.GetElement(2);
                }
                continue;
            }
            for (var xx = 0; xx < winWidth; xx++)
            {
                var ox = winLeft + xx;
                var xmin = Unsafe.Add(ref b0, ox * 2);
                var xmax = Unsafe.Add(ref b0, ox * 2 + 1);
                ref var kk = ref Unsafe.Add(ref k0, ox * ksize);
                ref var p = ref Unsafe.Add(ref srcRow, xmin * 3);
                int r = half, g = half, b = half;
                for (var x = 0; x < xmax; x++)
                {
                    var w = Unsafe.Add(ref kk, x);
                    r += Unsafe.Add(ref p, 3 * x) * w;
                    g += Unsafe.Add(ref p, 3 * x + 1) * w;
                    b += Unsafe.Add(ref p, 3 * x + 2) * w;
                }
                ref var o = ref Unsafe.Add(ref dstRow, xx * 3);
                o = Clip8(r);
                Unsafe.Add(ref o, 1) = Clip8(g);
                Unsafe.Add(ref o, 2) = Clip8(b);
            }
        }
    }

    // Vectorised across the row: the same tap weights apply to every byte of a row, so Vector<int> lanes
    // accumulate exactly the integers Pillow's scalar loop does.
    private static void VerticalPass(byte[] src, int width, int yFirst, byte[] dst, int winTop, int winHeight, int[] k, int[] bounds, int ksize)
    {
        const int half = 1 << (PrecisionBits - 1);
        var rowLen = width * 3;
        var step = Vector<byte>.Count;
        var halfV = new Vector<int>(half);
        var max = new Vector<int>(255);
        for (var yy = 0; yy < winHeight; yy++)
        {
            var oy = winTop + yy;
            var ymin = bounds[oy * 2] - yFirst;
            var ymax = bounds[oy * 2 + 1];
            var kOff = oy * ksize;
            var o = yy * rowLen;
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i + step <= rowLen; i += step)
                {
                    Vector<int> a0 = halfV, a1 = halfV, a2 = halfV, a3 = halfV;
                    for (var y = 0; y < ymax; y++)
                    {
                        var w = new Vector<int>(k[kOff + y]);
                        var v = new Vector<byte>(src, (ymin + y) * rowLen + i);
                        Vector.Widen(v, out Vector<ushort> lo, out Vector<ushort> hi);
                        Vector.Widen(lo, out Vector<uint> u0, out Vector<uint> u1);
                        Vector.Widen(hi, out Vector<uint> u2, out Vector<uint> u3);
                        a0 += Vector.AsVectorInt32(u0) * w;
                        a1 += Vector.AsVectorInt32(u1) * w;
                        a2 += Vector.AsVectorInt32(u2) * w;
                        a3 += Vector.AsVectorInt32(u3) * w;
                    }
                    var c0 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a0, PrecisionBits), Vector<int>.Zero), max);
                    var c1 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a1, PrecisionBits), Vector<int>.Zero), max);
                    var c2 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a2, PrecisionBits), Vector<int>.Zero), max);
                    var c3 = Vector.Min(Vector.Max(Vector.ShiftRightArithmetic(a3, PrecisionBits), Vector<int>.Zero), max);
                    var s01 = Vector.AsVectorUInt16(Vector.Narrow(c0, c1));
                    var s23 = Vector.AsVectorUInt16(Vector.Narrow(c2, c3));
                    Vector.Narrow(s01, s23).CopyTo(dst, o + i);
                }
            }
            for (; i < rowLen; i++)
            {
                var acc = half;
                for (var y = 0; y < ymax; y++)
                {
                    acc += src[(ymin + y) * rowLen + i] * k[kOff + y];
                }
                dst[o + i] = Clip8(acc);
            }
        }
    }

    /// <summary>Writes an RGB image as normalised CHW floats into <paramref name="dst"/>, mirrored left-right when
    /// <paramref name="flip"/> (torchvision's hflip), using a table from <see cref="Normalization.Table"/>.</summary>
    internal static void WriteChw(RgbImage img, bool flip, float[] table, Span<float> dst)
    {
        var w = img.Width;
        var plane = w * img.Height;
        if (dst.Length < 3 * plane || table.Length != 768)
        {
            throw new ArgumentException("Destination or table too small.", nameof(dst));
        }
        ref var px = ref MemoryMarshal.GetArrayDataReference(img.Pixels);
        ref var t = ref MemoryMarshal.GetArrayDataReference(table);
        ref var r = ref MemoryMarshal.GetReference(dst);
        ref var g = ref Unsafe.Add(ref r, plane);
        ref var b = ref Unsafe.Add(ref r, 2 * plane);
        for (var y = 0; y < img.Height; y++)
        {
            var row = y * w;
            for (var x = 0; x < w; x++)
            {
                var s = (row + (flip ? w - 1 - x : x)) * 3;
                var d = row + x;
                Unsafe.Add(ref r, d) = Unsafe.Add(ref t, Unsafe.Add(ref px, s));
                Unsafe.Add(ref g, d) = Unsafe.Add(ref t, 256 + Unsafe.Add(ref px, s + 1));
                Unsafe.Add(ref b, d) = Unsafe.Add(ref t, 512 + Unsafe.Add(ref px, s + 2));
            }
        }
    }
}
