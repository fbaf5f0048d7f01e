using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace Repro.Core.Tests.Data;

/// <summary>Writers for tiny datasets in their published layouts.</summary>
internal static class Fixtures
{
    /// <summary>An IDX image file: pixel (i, r, c) = (i * 31 + r * 7 + c) mod 256, so every record differs.</summary>
    public static void WriteIdxImages(string path, int count, int rows, int cols, bool gzip, int magic = 0x0803)
    {
        var data = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), cols);
        for (var i = 0; i < count; i++)
        {
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < cols; c++)
                {
                    data[16 + (i * rows + r) * cols + c] = (byte)((i * 31 + r * 7 + c) % 256);
                }
            }
        }
        Write(path, data, gzip);
    }

    public static void WriteIdxLabels(string path, IReadOnlyList<byte> labels, bool gzip, int magic = 0x0801)
    {
        var data = new byte[8 + labels.Count];
        BinaryPrimitives.WriteInt32BigEndian(data, magic);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            data[8 + i] = labels[i];
        }
        Write(path, data, gzip);
    }

    /// <summary>A Fashion-MNIST-like folder: <paramref name="train"/> and <paramref name="test"/> 4x3 images, label = i mod 10.</summary>
    public static string IdxDataset(TempDir dir, int train, int test, bool gzip, string name = "fashion-mnist")
    {
        var root = dir.Sub(name);
        var ext = gzip ? ".gz" : "";
        WriteIdxImages(Path.Combine(root, "train-images-idx3-ubyte" + ext), train, 4, 3, gzip);
        WriteIdxLabels(Path.Combine(root, "train-labels-idx1-ubyte" + ext), Enumerable.Range(0, train).Select(i => (byte)(i % 10)).ToArray(), gzip);
        if (test > 0)
        {
            WriteIdxImages(Path.Combine(root, "t10k-images-idx3-ubyte" + ext), test, 4, 3, gzip);
            WriteIdxLabels(Path.Combine(root, "t10k-labels-idx1-ubyte" + ext), Enumerable.Range(0, test).Select(i => (byte)((i + 3) % 10)).ToArray(), gzip);
        }
        return root;
    }

    private static void Write(string path, byte[] data, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, data);
            return;
        }
        using var f = File.Create(path);
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(data);
    }

    /// <summary>Pixel (x, y) of the synthetic test pattern: smooth gradients, distinct in every pixel of a small image.</summary>
    public static (byte R, byte G, byte B) Pattern(int x, int y, int seed = 0) =>
        ((byte)((x * 13 + seed * 40) % 256), (byte)((y * 17 + seed * 20) % 256), (byte)((x * 5 + y * 3 + seed) % 256));

    public static SKBitmap PatternBitmap(int width, int height, int seed = 0)
    {
        var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = Pattern(x, y, seed);
                bmp.SetPixel(x, y, new SKColor(r, g, b));
            }
        }
        return bmp;
    }

    public static byte[] Encode(int width, int height, SKEncodedImageFormat format, int seed = 0, int quality = 90)
    {
        using var bmp = PatternBitmap(width, height, seed);
        using var data = bmp.Encode(format, quality);
        return data.ToArray();
    }

    public static void WriteImage(string path, int width, int height, SKEncodedImageFormat format = SKEncodedImageFormat.Jpeg, int seed = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encode(width, height, format, seed));
    }

    /// <summary>A CIFAR-10 binary folder with <paramref name="records"/> records per batch file; record i of
    /// file f has label (f + i) mod 10 and R = i, G = f, B = pixel index mod 256.</summary>
    public static string Cifar(TempDir dir, int records, Func<int, int, byte>? label = null)
    {
        var root = dir.Sub("cifar-10-batches-bin");
        File.WriteAllText(Path.Combine(root, "batches.meta.txt"),
            "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
        string[] files = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
        for (var f = 0; f < files.Length; f++)
        {
            var data = new byte[records * 3073];
            for (var i = 0; i < records; i++)
            {
                var o = i * 3073;
                data[o] = label?.Invoke(f, i) ?? (byte)((f + i) % 10);
                for (var p = 0; p < 1024; p++)
                {
                    data[o + 1 + p] = (byte)i;
                    data[o + 1 + 1024 + p] = (byte)f;
                    data[o + 1 + 2048 + p] = (byte)(p % 256);
                }
            }
            File.WriteAllBytes(Path.Combine(root, files[f]), data);
        }
        return root;
    }

    /// <summary>The official Oxford-IIIT Pet layout with 37 breeds, <paramref name="perClass"/> 8x6 JPEGs each;
    /// the first image of each breed is in test.txt, the others in trainval.txt.</summary>
    public static string OxfordPet(TempDir dir, int perClass = 2)
    {
        var root = dir.Sub("oxford-iiit-pet");
        var annotations = Directory.CreateDirectory(Path.Combine(root, "annotations")).FullName;
        var list = new List<string> { "#Image CLASS-ID SPECIES BREED ID", "#ID: 1:37 Class ids" };
        var trainval = new List<string>();
        var test = new List<string>();
        for (var c = 1; c <= 37; c++)
        {
            var breed = c == 1 ? "Abyssinian" : c == 2 ? "american_pit_bull_terrier" : $"breed{c:D2}";
            for (var k = 1; k <= perClass; k++)
            {
                var name = $"{breed}_{k}";
                WriteImage(Path.Combine(root, "images", name + ".jpg"), 8, 6, seed: c);
                var line = $"{name} {c} 1 {c}";
                list.Add(line);
                (k == 1 ? test : trainval).Add(line);
            }
        }
        WriteImage(Path.Combine(root, "images", "unlisted_1.jpg"), 8, 6);
        File.WriteAllLines(Path.Combine(annotations, "list.txt"), list);
        File.WriteAllLines(Path.Combine(annotations, "trainval.txt"), trainval);
        File.WriteAllLines(Path.Combine(annotations, "test.txt"), test);
        return root;
    }
}
