using System.Diagnostics;
using System.Globalization;
using NetVips;
using Repro.Config;
using Repro.Core.Data;

// Usage:
//   Repro.Bench.Vips data <dir> [crop=224] [passes=3] [decoder=vips|vips-shrink|skia]
//       decode + training transform on one thread, images/s, as `Repro.Bench data` measures SkiaSharp:
//       vips: NetVips at full size; vips-shrink: NetVips with shrink-on-load, the largest of 1/2, 1/4, 1/8 whose
//       short side is still at least the default decode size (crop / 0.875), else full size; skia: Repro's decoder
//       at its default size (DCT scaling to M/8), the baseline in the same process kind.
//   Repro.Bench.Vips same <dir>   NetVips and SkiaSharp decodes byte for byte at 1/1, 1/2, 1/4, 1/8
return args switch
{
    ["data", var dir, .. var rest] => Data(dir,
        rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 224,
        rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 3,
        rest.Length > 2 ? rest[2] : "vips"),
    ["same", var dir] => Same(dir),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Repro.Bench.Vips data <dir> [crop] [passes] [vips|vips-shrink|skia] | same <dir>");
    return 2;
}

// Per-core figures: libvips' own thread pool and operation cache off.
static void Quiet()
{
    NetVips.NetVips.Concurrency = 1;
    Cache.Max = 0;
    Cache.MaxFiles = 0;
    Cache.MaxMem = 0;
}

static RgbImage VipsDecode(byte[] bytes, int shrink)
{
    using var image = Image.JpegloadBuffer(bytes, shrink: shrink, access: Enums.Access.Sequential);
    var rgb = image.Bands == 3 ? image : image.Colourspace(Enums.Interpretation.Srgb);
    try
    {
        return new RgbImage(rgb.Width, rgb.Height, rgb.WriteToMemory<byte>());
    }
    finally
    {
        if (!ReferenceEquals(rgb, image))
            rgb.Dispose();
    }
}

static int Shrink(byte[] bytes, int minShortSide)
{
    using var header = Image.NewFromBuffer(bytes, access: Enums.Access.Sequential);
    int shortSide = Math.Min(header.Width, header.Height);
    foreach (var s in new[] { 8, 4, 2 })
    {
        if ((shortSide + s - 1) / s >= minShortSide)
            return s;
    }
    return 1;
}

static int Data(string dir, int crop, int passes, string decoder)
{
    Quiet();
    var ds = (FileImageDataset)Datasets.Open(DatasetKind.ImageFolder, dir);
    var pipeline = new InputPipeline(crop, Augment: true, Normalization.ImageNet);
    var table = Enumerable.Range(0, ds.Samples.Count).Select(ds.FullPath).ToArray();
    var buffer = new float[3 * crop * crop];
    var channels = pipeline.Normalization.Table();
    void Prepare(int i, int epoch)
    {
        var bytes = File.ReadAllBytes(table[i]);
        var img = decoder switch
        {
            "vips" => VipsDecode(bytes, 1),
            "vips-shrink" => VipsDecode(bytes, Shrink(bytes, pipeline.DecodeSize)),
            "skia" => ImageDecoder.Decode(bytes, table[i], pipeline.DecodeSize),
            _ => throw new ArgumentException($"unknown decoder '{decoder}'"),
        };
        // What DataLoader.Prepare does after the decode.
        var rng = SeededRandom.Stream(RandomStream.Augment, 1, (ulong)epoch, (ulong)i);
        var (top, left, h, w) = Transforms.RandomResizedCropParams(img.Width, img.Height, rng);
        var cropped = Transforms.Resample(img, left, top, w, h, crop, crop);
        Transforms.WriteChw(cropped, rng.NextDouble() < 0.5, channels, buffer);
    }
    for (var i = 0; i < Math.Min(30, table.Length); i++)
        Prepare(i, 100); // warm-up: JIT and file cache
    var best = 0.0;
    for (var p = 0; p < passes; p++)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < table.Length; i++)
            Prepare(i, p);
        best = Math.Max(best, table.Length / sw.Elapsed.TotalSeconds);
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"repro-{decoder} images={table.Length} crop={crop} decode+transform={best:F1} img/s (libvips {NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)})"));
    return 0;
}

static int Same(string dir)
{
    Quiet();
    var ds = (FileImageDataset)Datasets.Open(DatasetKind.ImageFolder, dir);
    int checkedCount = 0, different = 0, otherSize = 0;
    foreach (var i in Enumerable.Range(0, Math.Min(20, ds.Samples.Count)))
    {
        var bytes = File.ReadAllBytes(ds.FullPath(i));
        foreach (var shrink in new[] { 1, 2, 4, 8 })
        {
            var vips = VipsDecode(bytes, shrink);
            // Skia's smallest M/8 scale with this short side is exactly 1/shrink for these sizes.
            var skia = ImageDecoder.Decode(bytes, ds.FullPath(i), (Math.Min(vips.Width, vips.Height)));
            checkedCount++;
            if (skia.Width != vips.Width || skia.Height != vips.Height || !skia.Pixels.AsSpan().SequenceEqual(vips.Pixels))
            {
                // libvips rounds a shrunk size down where libjpeg rounds up: compare the pixels both have.
                int w = Math.Min(skia.Width, vips.Width), h = Math.Min(skia.Height, vips.Height), diffs = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < 3 * w; x++)
                        diffs += skia.Pixels[3 * y * skia.Width + x] != vips.Pixels[3 * y * vips.Width + x] ? 1 : 0;
                Console.WriteLine($"{ds.Samples[i].Path} 1/{shrink}: skia {skia.Width}x{skia.Height}, vips {vips.Width}x{vips.Height}, {diffs} of {3 * w * h} common bytes differ");
                otherSize += skia.Width != vips.Width || skia.Height != vips.Height ? 1 : 0;
                different += diffs > 0 ? 1 : 0;
            }
        }
    }
    Console.WriteLine($"{checkedCount - different} of {checkedCount} decodes identical where both have pixels; {otherSize} of another size (libvips rounds shrunk sizes down)");
    return different == 0 ? 0 : 1;
}
