using System.Security.Cryptography;

namespace Repro.Core.Data;

/// <summary>
/// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): <c>data_batch_1..5.bin</c> and
/// <c>test_batch.bin</c>, each a sequence of 3073-byte records (label byte, then 1024 R, 1024 G, 1024 B bytes
/// of a 32x32 image, rows top to bottom), and <c>batches.meta.txt</c> with the class names. The root may be
/// the <c>cifar-10-batches-bin</c> folder or the folder holding it.
/// </summary>
public sealed class Cifar10Dataset : ImageDataset
{
    public const int Side = 32;
    private const int RecordSize = 1 + 3 * Side * Side;
    private const int OfficialRecordsPerFile = 10_000;
    private readonly int recordsPerFile;

    private readonly List<(byte[] Data, int Offset)> records = [];
    private readonly List<Sample> samples = [];

    public Cifar10Dataset(string root) : this(root, OfficialRecordsPerFile)
    {
    }

    /// <summary>Tests use small files; the size check stays exact.</summary>
    internal Cifar10Dataset(string root, int recordsPerFile)
    {
        this.recordsPerFile = recordsPerFile;
        var full = Path.GetFullPath(root);
        var nested = Path.Combine(full, "cifar-10-batches-bin");
        Root = Directory.Exists(nested) ? nested : full;
        var meta = Path.Combine(Root, "batches.meta.txt");
        if (!File.Exists(meta))
        {
            throw new DataException(meta, "CIFAR-10 class list not found (expected the binary version's cifar-10-batches-bin folder).");
        }
        Classes = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (Classes.Count == 0)
        {
            throw new DataException(meta, "no class names: expected one per line.");
        }
        var train = new List<int>();
        var test = new List<int>();
        for (var b = 1; b <= 5; b++)
        {
            Read($"data_batch_{b}.bin", train);
        }
        Read("test_batch.bin", test);
        OfficialSplit = new DatasetSplit(train, test);
    }

    public override string Root { get; }

    public override IReadOnlyList<string> Classes { get; }

    public override IReadOnlyList<Sample> Samples => samples;

    public override DatasetSplit? OfficialSplit { get; }

    public override RgbImage Load(int index, int? minShortSide = null)
    {
        var (data, offset) = records[index];
        const int plane = Side * Side;
        var rgb = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            rgb[3 * i] = data[offset + 1 + i];
            rgb[3 * i + 1] = data[offset + 1 + plane + i];
            rgb[3 * i + 2] = data[offset + 1 + 2 * plane + i];
        }
        return new RgbImage(Side, Side, rgb);
    }

    public override string ContentHash(int index)
    {
        var (data, offset) = records[index];
        return Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(offset + 1, RecordSize - 1)));
    }

    private void Read(string name, List<int> part)
    {
        var path = Path.Combine(Root, name);
        if (!File.Exists(path))
        {
            throw new DataException(path, "CIFAR-10 batch file not found.");
        }
        var data = File.ReadAllBytes(path);
        if (data.Length != RecordSize * recordsPerFile)
        {
            throw new DataException(path, $"wrong size {data.Length} bytes: expected {recordsPerFile} records of {RecordSize} bytes = {RecordSize * recordsPerFile}.");
        }
        for (var i = 0; i < recordsPerFile; i++)
        {
            var label = data[i * RecordSize];
            if (label >= Classes.Count)
            {
                throw new DataException(path, $"record {i} has label {label}: expected 0..{Classes.Count - 1}.");
            }
            part.Add(samples.Count);
            records.Add((data, i * RecordSize));
            samples.Add(new Sample($"{name}#{i:D5}", label));
        }
    }
}
