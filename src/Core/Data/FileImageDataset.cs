using System.Security.Cryptography;

namespace Repro.Core.Data;

/// <summary>A dataset whose samples are image files under <see cref="Root"/>.</summary>
public abstract class FileImageDataset : ImageDataset
{
    private readonly List<string> skipped = [];

    protected FileImageDataset(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public sealed override string Root { get; }

    public override IReadOnlyList<string> SkippedFiles => skipped;

    public string FullPath(int index) => Path.Combine(Root, Samples[index].Path);

    public override RgbImage Load(int index, int? minShortSide = null) => ImageDecoder.Decode(FullPath(index), minShortSide);

    public override string ContentHash(int index)
    {
        using var f = File.OpenRead(FullPath(index));
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>With <see cref="DatasetOptions.SkipCorruptImages"/>, decodes every candidate once and returns
    /// those that decode; the others are recorded in <see cref="SkippedFiles"/>.</summary>
    protected IReadOnlyList<Sample> Filter(IReadOnlyList<Sample> candidates, DatasetOptions? options)
    {
        if (options is not { SkipCorruptImages: true })
        {
            return candidates;
        }
        var ok = new bool[candidates.Count];
        Parallel.For(0, candidates.Count, i => ok[i] = ImageDecoder.IsDecodable(Path.Combine(Root, candidates[i].Path)));
        var kept = new List<Sample>(candidates.Count);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (ok[i])
            {
                kept.Add(candidates[i]);
            }
            else
            {
                skipped.Add(candidates[i].Path);
            }
        }
        return kept;
    }

    internal static string Relative(string root, string full) => Path.GetRelativePath(root, full).Replace('\\', '/');
}
