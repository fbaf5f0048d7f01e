using System.Collections.Concurrent;

namespace Repro.Core.Data;

/// <summary>A decoded image: HWC, RGB, 8 bits per channel, rows top to bottom.</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    /// <summary>Bytes held by the pixel buffer; the loader's cache budgets with it.</summary>
    public long ByteCount => Pixels.LongLength;
}

/// <summary>
/// One sample. <paramref name="Path"/> identifies it relative to the dataset root with '/' separators, so a
/// manifest written on one OS reads the same on another; records inside a container file are named
/// <c>file#index</c> (e.g. <c>train-images-idx3-ubyte.gz#00042</c>).
/// </summary>
public sealed record Sample(string Path, int Label);

/// <summary>Options for <see cref="Datasets.Open"/>.</summary>
/// <param name="SkipCorruptImages">Validate every image when opening and leave out those that do not decode
/// (counted in <see cref="ImageDataset.SkippedFiles"/>) instead of failing when one is loaded.</param>
/// <param name="PetSplit">Oxford-IIIT Pet: "official" exposes trainval/test as <see cref="ImageDataset.OfficialSplit"/>;
/// "seeded" hides it so the caller makes a seeded stratified split over all listed images.</param>
/// <param name="ClassNames">IDX: class names to use instead of the ones inferred from the folder.</param>
/// <param name="KeepClasses">Only these class indices, re-indexed 0..n-1 in this order (see <see cref="ClassSubsetDataset"/>); null = all.</param>
public sealed record DatasetOptions(
    bool SkipCorruptImages = false,
    string PetSplit = "official",
    IReadOnlyList<string>? ClassNames = null,
    IReadOnlyList<int>? KeepClasses = null);

/// <summary>Indices into <see cref="ImageDataset.Samples"/> for training and testing.</summary>
public sealed class DatasetSplit
{
    public DatasetSplit(IReadOnlyList<int> train, IReadOnlyList<int> test)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        var seen = new HashSet<int>(train);
        if (seen.Count != train.Count)
        {
            throw new ArgumentException("The training indices contain duplicates.", nameof(train));
        }
        foreach (var i in test)
        {
            if (!seen.Add(i))
            {
                throw new ArgumentException($"Index {i} is in both parts of the split, or twice in the test part.", nameof(test));
            }
        }
        Train = train;
        Test = test;
    }

    public IReadOnlyList<int> Train { get; }

    public IReadOnlyList<int> Test { get; }
}

/// <summary>Bad input data. The message names the file and what was expected of it.</summary>
public sealed class DataException : Exception
{
    public DataException(string filePath, string message, Exception? innerException = null)
        : base($"{filePath}: {message}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The offending file (or folder).</summary>
    public string FilePath { get; }
}

/// <summary>A labelled image collection read from its published on-disk layout.</summary>
public abstract class ImageDataset
{
    public abstract string Root { get; }

    public abstract IReadOnlyList<string> Classes { get; }

    public abstract IReadOnlyList<Sample> Samples { get; }

    /// <summary>The official split if the dataset has one (CIFAR, IDX train/test files, Pet trainval/test), else null.</summary>
    public abstract DatasetSplit? OfficialSplit { get; }

    /// <summary>Files left out because they did not decode (only with <see cref="DatasetOptions.SkipCorruptImages"/>).</summary>
    public virtual IReadOnlyList<string> SkippedFiles => Array.Empty<string>();

    /// <summary>Decode sample <paramref name="index"/>. <paramref name="minShortSide"/> lets file formats
    /// with scaled decoding (JPEG) return a smaller image whose short side is still at least that size.</summary>
    public abstract RgbImage Load(int index, int? minShortSide = null);

    /// <summary>Hex SHA-256 of the sample's bytes (the file, or the record's pixels), for the split manifest.</summary>
    public abstract string ContentHash(int index);

    private readonly ConcurrentDictionary<(int Index, int Size), RgbImage> decoded = new();
    private long decodedBytes;

    /// <summary>Upper bound on the bytes of decoded images that the loaders of this dataset keep between
    /// epochs (default 2 GiB). The cache belongs to the dataset so that the training loader and the evaluation
    /// loaders, which decode at the same size, share it instead of each holding a copy.</summary>
    public long DecodedCacheCapacityBytes { get; set; } = 2L << 30;

    /// <summary>Bytes of decoded images now cached.</summary>
    public long DecodedCacheBytes => Interlocked.Read(ref decodedBytes);

    /// <summary><see cref="Load"/> through the cache. A cached image is exactly what a fresh decode at that size
    /// returns, so whether an image was cached never changes a result.</summary>
    internal RgbImage LoadCached(int index, int minShortSide)
    {
        if (decoded.TryGetValue((index, minShortSide), out var hit))
        {
            return hit;
        }
        var img = Load(index, minShortSide);
        if (Interlocked.Add(ref decodedBytes, img.ByteCount) > DecodedCacheCapacityBytes || !decoded.TryAdd((index, minShortSide), img))
        {
            Interlocked.Add(ref decodedBytes, -img.ByteCount);
        }
        return img;
    }
}
