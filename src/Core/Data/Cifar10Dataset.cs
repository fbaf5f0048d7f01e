namespace Repro.Core.Data;

/// <summary>
/// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): <c>data_batch_1..5.bin</c> and
/// <c>test_batch.bin</c>, each a sequence of 3073-byte records (label byte, then 1024 R, 1024 G, 1024 B bytes
/// of a 32x32 image, rows top to bottom), and <c>batches.meta.txt</c> with the class names. The root may be
/// the <c>cifar-10-batches-bin</c> folder or the folder holding it.
/// </summary>
public sealed class Cifar10Dataset : RecordDataset
{
    public const int Side = 32;
    private const int Plane = Side * Side;
    private const int RecordSize = 1 + 3 * Plane;
    private const int OfficialRecordsPerFile = 10_000;
    private readonly int recordsPerFile;

    public Cifar10Dataset(string root) : this(root, OfficialRecordsPerFile)
    {
    }

    /// <summary>Tests use small files; the size check stays exact.</summary>
    internal Cifar10Dataset(string root, int recordsPerFile) : base(BatchesFolder(root))
    {
        this.recordsPerFile = recordsPerFile;
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

    public override IReadOnlyList<string> Classes { get; }

    public override DatasetSplit? OfficialSplit { get; }

    /// <summary>The record's planes (all R, all G, all B) interleaved.</summary>
    protected override byte[] ToInterleavedRgb(ReadOnlySpan<byte> record, int pixelCount)
    {
        var rgb = new byte[3 * pixelCount];
        for (var i = 0; i < pixelCount; i++)
        {
            rgb[3 * i] = record[i];
            rgb[3 * i + 1] = record[pixelCount + i];
            rgb[3 * i + 2] = record[2 * pixelCount + i];
        }
        return rgb;
    }

    private static string BatchesFolder(string root)
    {
        var full = Path.GetFullPath(root);
        var nested = Path.Combine(full, "cifar-10-batches-bin");
        return Directory.Exists(nested) ? nested : full;
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
            part.Add(Add(new Sample($"{name}#{i:D5}", label), data, i * RecordSize + 1, 3 * Plane, Side, Side));
        }
    }
}
