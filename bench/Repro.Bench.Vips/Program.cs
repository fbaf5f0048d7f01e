using System.Diagnostics;
using System.Globalization;
using NetVips;
using Repro.Config;
using Repro.Core.Data;

// Usage:
//   Repro.Bench.Vips data <dir> [crop=224] [passes=3] [decoder=vips|vips-shrink]
//       decode + training transform on one thread, images/s, as `Repro.Bench data` measures SkiaSharp:
//       vips: NetVips at full size; vips-shrink: NetVips with shrink-on-load, the largest of 1/2, 1/4, 1/8 whose
//       short side is still at least the default decode size (crop / 0.875), else full size.
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
    Console.Error.WriteLine("usage: Repro.Bench.Vips data <dir> [crop] [passes] [vips|vips-shrink] | same <dir>");
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

// What one DataLoader worker does per training sample, as `Repro.Bench data` measures SkiaSharp: the loader's own
// Prepare (random resized crop, flip, normalisation), cache off, with NetVips decoding behind the dataset.
static int Data(string dir, int crop, int passes, string decoder)
{
    Quiet();
    var files = (FileImageDataset)Datasets.Open(DatasetKind.ImageFolder, dir);
    int? shrinkTo = decoder switch
    {
        "vips" => null,
        "vips-shrink" => new InputPipeline(crop, Augment: true, Normalization.ImageNet).DecodeSize,
        _ => throw new ArgumentException($"unknown decoder '{decoder}' (vips or vips-shrink)"),
    };
    var ds = new VipsDecoded(files, shrinkTo);
    var all = Enumerable.Range(0, ds.Samples.Count).ToArray();
    // DecodeShortSide above any image: the loader asks for full size; VipsDecoded decides the shrink itself.
    var pipeline = new InputPipeline(crop, Augment: true, Normalization.ImageNet, DecodeShortSide: 1_000_000);
    using var loader = new DataLoader(ds, all, pipeline, batchSize: 32, shuffle: true, seed: 1) { CacheDecoded = false };
    var buffer = new float[3 * crop * crop];
    for (var i = 0; i < Math.Min(30, all.Length); i++)
        loader.Prepare(i, 100, buffer); // warm-up: JIT and file cache
    var best = 0.0;
    for (var p = 0; p < passes; p++)
    {
        var sw = Stopwatch.StartNew();
        foreach (var i in all)
            loader.Prepare(i, p, buffer);
        best = Math.Max(best, all.Length / sw.Elapsed.TotalSeconds);
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"repro-{decoder} images={all.Length} crop={crop} decode+transform={best:F1} img/s (libvips {NetVips.NetVips.Version(0)}.{NetVips.NetVips.Version(1)}.{NetVips.NetVips.Version(2)})"));
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
            var vips = VipsDecoded.Decode(bytes, shrink);
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

/// <summary>An image folder whose images NetVips decodes: full size, or shrunk on load to the largest power-of-two
/// scale whose short side is still at least <paramref name="shrinkTo"/>.</summary>
sealed class VipsDecoded(FileImageDataset files, int? shrinkTo) : ImageDataset
{
    public override string Root => files.Root;
    public override IReadOnlyList<string> Classes => files.Classes;
    public override IReadOnlyList<Sample> Samples => files.Samples;
    public override DatasetSplit? OfficialSplit => files.OfficialSplit;
    public override string ContentHash(int index) => files.ContentHash(index);

    public override RgbImage Load(int index, int? minShortSide = null)
    {
        var bytes = File.ReadAllBytes(files.FullPath(index));
        return Decode(bytes, shrinkTo is int s ? Shrink(bytes, s) : 1);
    }

    /// <summary>RGB pixels of a JPEG, shrunk on load by <paramref name="shrink"/> (1, 2, 4 or 8).</summary>
        public static RgbImage Decode(byte[] bytes, int shrink)
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

    private static int Shrink(byte[] bytes, int minShortSide)
    {
        using var header = Image.NewFromBuffer(bytes, access: Enums.Access.Sequential);
        int shortSide = Math.Min(header.Width, header.Height);
        foreach (var s in new[] { 8, 4, 2 })
        {
            // libvips rounds a shrunk size down.
            if (shortSide / s >= minShortSide)
                return s;
        }
        return 1;
    }
}
