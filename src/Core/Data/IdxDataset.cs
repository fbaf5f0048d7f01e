using System.Buffers.Binary;
using System.IO.Compression;

namespace Repro.Core.Data;

/// <summary>
/// MNIST-style IDX files (http://yann.lecun.com/exdb/mnist/, format section), gzip-compressed or raw:
/// <c>train-images-idx3-ubyte</c> + <c>train-labels-idx1-ubyte</c> and optionally the <c>t10k-*</c> pair,
/// which becomes the official test split. Images are grayscale and are returned as 3 equal channels.
/// </summary>
public sealed class IdxDataset : RecordDataset
{
    /// <summary>Fashion-MNIST's class names (github.com/zalandoresearch/fashion-mnist, "Labels").</summary>
    public static readonly IReadOnlyList<string> FashionMnistClasses =
    [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ];

    private const int ImagesMagic = 0x0000_0803; // unsigned byte, 3 dimensions
    private const int LabelsMagic = 0x0000_0801; // unsigned byte, 1 dimension

    public IdxDataset(string root, DatasetOptions? options = null) : base(Path.GetFullPath(root))
    {
        if (!Directory.Exists(Root))
        {
            throw new DataException(Root, "IDX dataset folder not found.");
        }
        Classes = options?.ClassNames ?? InferClasses(Root);
        var train = ReadPair(Find("train", "images", "idx3", required: true)!, Find("train", "labels", "idx1", required: true)!);
        var testImages = Find("t10k", "images", "idx3", required: false);
        var testLabels = Find("t10k", "labels", "idx1", required: false);
        if ((testImages is null) != (testLabels is null))
        {
            throw new DataException(testImages ?? testLabels!, "the t10k images and labels files must both be present.");
        }
        (int Start, int Count)? test = testImages is null ? null : ReadPair(testImages, testLabels!);

        OfficialSplit = test is null
            ? null
            : new DatasetSplit(Enumerable.Range(train.Start, train.Count).ToArray(), Enumerable.Range(test.Value.Start, test.Value.Count).ToArray());
    }

    public override IReadOnlyList<string> Classes { get; }

    public override DatasetSplit? OfficialSplit { get; }

    /// <summary>The grayscale record as 3 equal channels.</summary>
    protected override byte[] ToInterleavedRgb(ReadOnlySpan<byte> record, int pixelCount)
    {
        var rgb = new byte[pixelCount * 3];
        for (var i = 0; i < pixelCount; i++)
        {
            var v = record[i];
            rgb[3 * i] = v;
            rgb[3 * i + 1] = v;
            rgb[3 * i + 2] = v;
        }
        return rgb;
    }

    private static IReadOnlyList<string> InferClasses(string root)
    {
        // The files do not say which IDX dataset they are; Fashion-MNIST's folders carry its name
        // (Debian: /usr/share/datasets/fashion-mnist), MNIST's classes are the digits.
        if (root.Contains("fashion", StringComparison.OrdinalIgnoreCase))
        {
            return FashionMnistClasses;
        }
        return Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    private string? Find(string set, string kind, string idx, bool required)
    {
        // Published names use '-' before idx (train-images-idx3-ubyte); some mirrors use '.'.
        foreach (var sep in new[] { "-", "." })
        {
            foreach (var ext in new[] { ".gz", "" })
            {
                var p = Path.Combine(Root, $"{set}-{kind}{sep}{idx}-ubyte{ext}");
                if (File.Exists(p))
                {
                    return p;
                }
            }
        }
        if (required)
        {
            throw new DataException(Path.Combine(Root, $"{set}-{kind}-{idx}-ubyte[.gz]"), "IDX file not found.");
        }
        return null;
    }

    private (int Start, int Count) ReadPair(string imagesPath, string labelsPath)
    {
        var images = ReadAll(imagesPath);
        var labels = ReadAll(labelsPath);
        if (images.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(images) != ImagesMagic)
        {
            throw new DataException(imagesPath, $"not an IDX image file: expected magic number 0x{ImagesMagic:X8} (ubyte, 3 dimensions).");
        }
        if (labels.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(labels) != LabelsMagic)
        {
            throw new DataException(labelsPath, $"not an IDX label file: expected magic number 0x{LabelsMagic:X8} (ubyte, 1 dimension).");
        }
        var count = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(4));
        var rows = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(8));
        var cols = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(12));
        if (count < 0 || rows <= 0 || cols <= 0 || images.LongLength != 16L + (long)count * rows * cols)
        {
            throw new DataException(imagesPath, $"size {images.LongLength} bytes does not match the header: expected 16 + {count} x {rows} x {cols}.");
        }
        var labelCount = BinaryPrimitives.ReadInt32BigEndian(labels.AsSpan(4));
        if (labelCount != count || labels.LongLength != 8L + count)
        {
            throw new DataException(labelsPath, $"expected {count} labels (one per image in {Path.GetFileName(imagesPath)}), the file holds {labelCount} in {labels.LongLength} bytes.");
        }
        for (var i = 0; i < count; i++)
        {
            if (labels[8 + i] >= Classes.Count)
            {
                throw new DataException(labelsPath, $"label {labels[8 + i]} of record {i} is out of range: expected 0..{Classes.Count - 1} ({Classes.Count} classes).");
            }
        }
        var start = Samples.Count;
        var name = Path.GetFileName(imagesPath);
        var digits = Math.Max(5, count.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        for (var i = 0; i < count; i++)
        {
            Add(new Sample($"{name}#{i.ToString(new string('0', digits), System.Globalization.CultureInfo.InvariantCulture)}", labels[8 + i]),
                images, 16 + i * rows * cols, rows * cols, cols, rows);
        }
        return (start, count);
    }

    private static byte[] ReadAll(string path)
    {
        try
        {
            var raw = File.ReadAllBytes(path);
            if (raw.Length >= 2 && raw[0] == 0x1F && raw[1] == 0x8B)
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                return ms.ToArray();
            }
            return raw;
        }
        catch (InvalidDataException e)
        {
            throw new DataException(path, "corrupt gzip stream.", e);
        }
    }
}
