using Repro.Config;
using System.Diagnostics;
using System.Globalization;
using Repro.Core.Data;
using SkiaSharp;

// Usage:
//   Repro.Bench generate <dir> [count=300]   photo-like 500x375 JPEGs in 3 class folders
//   Repro.Bench data <dir> [crop=224] [passes=3] [decodeShortSide]  decode + training transform, one thread, images/s
//   Repro.Bench open <kind> <root>            open a dataset and print its summary
//   Repro.Bench dump <image> <out.raw>        full-size decode as raw RGB bytes
//   Repro.Bench profile <dir>                 time decode sizes and transforms separately
//   Repro.Bench train|eval|epoch|bn [--model resnet50|densenet121] [--size 224] [--batch 32] [--steps 3] [--warmup 1]
//               [--threads 2] [--loop repro|raw] [--channels-last] [--strided-downsample] [--numerics native|portable]
//               [--dir <imagefolder> --epochs 3 --loader-threads 2]
//                                             model benchmarks, one JSON line (TrainBench.cs; scripts/bench.sh)
//   Repro.Bench strided-1x1 <in> <out> <batch> <side> [--subsampled]
//                                             does backward of a 1x1 stride-2 conv crash here (StridedConvCheck.cs)
return args switch
{
    ["generate", var dir, .. var rest] => Generate(dir, rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 300),
    ["data", var dir, .. var rest] => Data(
        dir,
        rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 224,
        rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 3,
        rest.Length > 2 ? int.Parse(rest[2], CultureInfo.InvariantCulture) : null),
    ["profile", var dir] => Profile(dir),
    [var mode and ("train" or "eval" or "epoch" or "bn"), .. var rest] => Repro.Bench.TrainBench.Run(mode, rest),
    ["strided-1x1", .. var rest] => Repro.Bench.StridedConvCheck.Run(rest),
    ["open", var kind, var dir] => Open(kind, dir),
    ["dump", var file, var output] => Dump(file, output),
    _ => Usage(),
};

// Raw RGB bytes of a full-size decode, to compare with PIL's decode of the same file.
static int Dump(string file, string output)
{
    var img = ImageDecoder.Decode(file);
    File.WriteAllBytes(output, img.Pixels);
    Console.WriteLine($"{img.Width}x{img.Height}");
    return 0;
}

static int Open(string kind, string dir)
{
    var sw = Stopwatch.StartNew();
    var ds = Datasets.Open(Choice.Parse<DatasetKind>(kind), dir);
    Console.WriteLine($"{ds.Root}: {ds.Samples.Count} samples, {ds.Classes.Count} classes [{string.Join(", ", ds.Classes)}], official split {ds.OfficialSplit?.Train.Count}/{ds.OfficialSplit?.Test.Count}, {sw.ElapsedMilliseconds} ms");
    return 0;
}

static int Profile(string dir)
{
    var ds = (FileImageDataset)Datasets.Open(DatasetKind.ImageFolder, dir);
    var n = ds.Samples.Count;
    var files = Enumerable.Range(0, n).Select(i => File.ReadAllBytes(ds.FullPath(i))).ToArray();
    var imgs = new RgbImage[n];
    void Time(string what, Action<int> f)
    {
        for (var i = 0; i < 20; i++) f(i);
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) f(i);
        Console.WriteLine($"{what}: {sw.Elapsed.TotalMilliseconds / n:F3} ms/img");
    }
    Time("decode full", i => ImageDecoder.Decode(files[i], "x"));
    Time("decode >=256", i => imgs[i] = ImageDecoder.Decode(files[i], "x", 256));
    Console.WriteLine($"{imgs[0].Width}x{imgs[0].Height}");
    Time("decode >=224", i => ImageDecoder.Decode(files[i], "x", 224));
    Time("decode >=188", i => ImageDecoder.Decode(files[i], "x", 188));
    Time("decode >=140", i => ImageDecoder.Decode(files[i], "x", 140));
    Time("decode >=40", i => ImageDecoder.Decode(files[i], "x", 40));
    Time("skia codec only", i => { using var st = new SKMemoryStream(files[i]); using var c = SKCodec.Create(st); var info = new SKImageInfo(c.Info.Width, c.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul); var buf = new byte[info.BytesSize]; var h = System.Runtime.InteropServices.GCHandle.Alloc(buf, System.Runtime.InteropServices.GCHandleType.Pinned); c.GetPixels(info, h.AddrOfPinnedObject()); h.Free(); });
    var rng = SeededRandom.Create(1);
    var crops = new RgbImage[n];
    Time("rrc resample", i => { var (t, l, h, w) = Transforms.RandomResizedCropParams(imgs[i].Width, imgs[i].Height, rng); crops[i] = Transforms.Resample(imgs[i], l, t, w, h, 224, 224); });
    var table = new float[768];
    var buf = new float[3 * 224 * 224];
    Time("resize256+crop224", i => Transforms.ResizeThenCenterCrop(imgs[i], 256, 224));
    return 0;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Repro.Bench generate <dir> [count] | data <dir> [crop] [passes]");
    return 2;
}

// Noise on top of smooth gradients and a few soft shapes, so the files compress like photos (about
// 60-120 KB at quality 90 for 500x375) rather than like flat synthetic images.
static int Generate(string dir, int count)
{
    const int w = 500, h = 375;
    for (var n = 0; n < count; n++)
    {
        var rng = SeededRandom.Create(2024, (ulong)n);
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var px = new byte[w * h * 4];
        var (r0, g0, b0) = (rng.NextInt(256), rng.NextInt(256), rng.NextInt(256));
        var (fx, fy) = (rng.NextDouble(0.005, 0.03), rng.NextDouble(0.005, 0.03));
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var wave = 60 * Math.Sin(x * fx + y * fy) + 40 * Math.Cos(y * fx * 1.7);
                var noise = rng.NextInt(41) - 20;
                var o = (y * w + x) * 4;
                px[o] = Clamp(r0 + x * 0.2 + wave + noise);
                px[o + 1] = Clamp(g0 + y * 0.25 - wave * 0.5 + noise);
                px[o + 2] = Clamp(b0 + (x + y) * 0.1 + wave * 0.3 + noise);
                px[o + 3] = 255;
            }
        }
        System.Runtime.InteropServices.Marshal.Copy(px, 0, bmp.GetPixels(), px.Length);
        using var canvas = new SKCanvas(bmp);
        using var paint = new SKPaint { IsAntialias = true };
        for (var s = 0; s < 6; s++)
        {
            paint.Color = new SKColor((byte)rng.NextInt(256), (byte)rng.NextInt(256), (byte)rng.NextInt(256), 110);
            canvas.DrawCircle(rng.NextInt(w), rng.NextInt(h), 20 + rng.NextInt(80), paint);
        }
        canvas.Flush();
        var path = Path.Combine(dir, $"class{n % 3}", $"img{n:D4}.jpg");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var data = bmp.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }
    Console.WriteLine($"generated {count} JPEGs of {w}x{h} in {dir}");
    return 0;

    static byte Clamp(double v) => (byte)Math.Clamp((int)v, 0, 255);
}

// What one DataLoader worker does per training sample, without batching or tensors: decode (scaled), random
// resized crop, flip, normalise into CHW floats. The cache is off so every pass decodes every file.
static int Data(string dir, int crop, int passes, int? decodeShortSide)
{
    var ds = Datasets.Open(DatasetKind.ImageFolder, dir);
    var all = Enumerable.Range(0, ds.Samples.Count).ToArray();
    var pipeline = new InputPipeline(crop, Augment: true, Normalization.ImageNet, decodeShortSide);
    using var loader = new DataLoader(ds, all, pipeline, batchSize: 32, shuffle: true, seed: 1) { CacheDecoded = false };
    var buffer = new float[3 * crop * crop];
    for (var i = 0; i < Math.Min(30, all.Length); i++)
    {
        loader.Prepare(i, 100, buffer); // warm-up: JIT and file cache
    }
    var best = 0.0;
    for (var p = 0; p < passes; p++)
    {
        var sw = Stopwatch.StartNew();
        foreach (var i in all)
        {
            loader.Prepare(i, p, buffer);
        }
        best = Math.Max(best, all.Length / sw.Elapsed.TotalSeconds);
    }
    using var cached = new DataLoader(ds, all, pipeline, 32, true, 1);
    foreach (var i in all)
    {
        cached.Prepare(i, 0, buffer);
    }
    var sw2 = Stopwatch.StartNew();
    foreach (var i in all)
    {
        cached.Prepare(i, 1, buffer);
    }
    var cachedRate = all.Length / sw2.Elapsed.TotalSeconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"repro images={all.Length} crop={crop} decode-short-side>={pipeline.DecodeSize} decode+transform={best:F1} img/s cached-epoch={cachedRate:F1} img/s"));
    return 0;
}
