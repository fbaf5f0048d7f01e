using System.Security.Cryptography;

namespace Repro.Core.Data;

/// <summary>
/// A dataset read whole into memory from binary record files (CIFAR-10's batches, IDX): each sample is a run of
/// pixel bytes inside one of the files' buffers. The counterpart of <see cref="FileImageDataset"/>, whose samples are files.
/// </summary>
public abstract class RecordDataset : ImageDataset
{
    private readonly List<(byte[] Data, int Offset, int Length, int Width, int Height)> records = [];
    private readonly List<Sample> samples = [];

    protected RecordDataset(string root)
    {
        Root = root;
    }

    public sealed override string Root { get; }

    public sealed override IReadOnlyList<Sample> Samples => samples;

    public sealed override RgbImage Load(int index, int? minShortSide = null)
    {
        var (data, offset, length, width, height) = records[index];
        return new RgbImage(width, height, ToInterleavedRgb(data.AsSpan(offset, length), width * height));
    }

    /// <summary>Hex SHA-256 of the record's pixel bytes alone (a CIFAR-10 record's label byte is not part of it).</summary>
    public sealed override string ContentHash(int index)
    {
        var (data, offset, length, _, _) = records[index];
        return Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(offset, length)));
    }

    /// <summary>Adds a sample whose pixels, a <paramref name="width"/> x <paramref name="height"/> image in the file's own layout,
    /// are the <paramref name="length"/> bytes of <paramref name="data"/> from <paramref name="offset"/>; returns its index.</summary>
    protected int Add(Sample sample, byte[] data, int offset, int length, int width, int height)
    {
        records.Add((data, offset, length, width, height));
        samples.Add(sample);
        return samples.Count - 1;
    }

    /// <summary>A record's pixels (<paramref name="pixelCount"/> of them, in the file's layout) as interleaved RGB bytes.</summary>
    protected abstract byte[] ToInterleavedRgb(ReadOnlySpan<byte> record, int pixelCount);
}
