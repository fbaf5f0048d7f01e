using System.Buffers.Binary;
using System.IO.Compression;

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
}
