namespace Repro.Core.Data;

/// <summary>
/// The images of some classes of another dataset (<c>classes:</c> in experiments.yaml), labels re-indexed 0..n-1 in
/// the order the classes are listed and their names kept, so that every stage — the split, its manifest, training,
/// testing, the PyTorch twin reading the manifest — sees an n-class dataset. Sample paths stay those of the full
/// dataset, so a manifest row still names the same file and record.
/// </summary>
public sealed class ClassSubsetDataset : ImageDataset
{
    private readonly ImageDataset inner;
    private readonly int[] innerIndex;

    /// <param name="inner">The full dataset.</param>
    /// <param name="keep">Distinct class indices of <paramref name="inner"/>; class <c>keep[i]</c> becomes class i.</param>
    public ClassSubsetDataset(ImageDataset inner, IReadOnlyList<int> keep)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.Count == 0)
            throw new ArgumentException("at least one class must be kept", nameof(keep));
        if (keep.Distinct().Count() != keep.Count)
            throw new ArgumentException($"classes listed twice in [{string.Join(", ", keep)}]", nameof(keep));
        foreach (int c in keep)
        {
            if (c < 0 || c >= inner.Classes.Count)
                throw new DataException(inner.Root, $"class index {c} does not exist: the dataset has {inner.Classes.Count} classes (0..{inner.Classes.Count - 1})");
        }

        this.inner = inner;
        var newLabel = new int[inner.Classes.Count];
        Array.Fill(newLabel, -1);
        for (int i = 0; i < keep.Count; i++)
            newLabel[keep[i]] = i;
        var map = new int[inner.Samples.Count];
        var indices = new List<int>();
        var samples = new List<Sample>();
        for (int i = 0; i < inner.Samples.Count; i++)
        {
            map[i] = -1;
            var s = inner.Samples[i];
            if (newLabel[s.Label] < 0)
                continue;
            map[i] = indices.Count;
            indices.Add(i);
            samples.Add(s with { Label = newLabel[s.Label] });
        }
        innerIndex = [.. indices];
        Samples = samples;
        Classes = [.. keep.Select(c => inner.Classes[c])];
        if (inner.OfficialSplit is { } official)
        {
            IReadOnlyList<int> Kept(IReadOnlyList<int> part) => part.Select(i => map[i]).Where(i => i >= 0).ToArray();
            OfficialSplit = new DatasetSplit(Kept(official.Train), Kept(official.Test));
        }
    }

    public override string Root => inner.Root;

    public override IReadOnlyList<string> Classes { get; }

    public override IReadOnlyList<Sample> Samples { get; }

    public override DatasetSplit? OfficialSplit { get; }

    /// <summary>The full dataset's skipped files: they changed what the classes hold as much as any other.</summary>
    public override IReadOnlyList<string> SkippedFiles => inner.SkippedFiles;

    public override RgbImage Load(int index, int? minShortSide = null) => inner.Load(innerIndex[index], minShortSide);

    public override string ContentHash(int index) => inner.ContentHash(innerIndex[index]);
}
