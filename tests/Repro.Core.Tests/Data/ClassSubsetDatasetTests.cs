using Repro.Config;
using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public sealed class ClassSubsetDatasetTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private ImageDataset Open(IReadOnlyList<int>? keep) =>
        Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 40, test: 20, gzip: false), new DatasetOptions(
            ClassNames: IdxDataset.FashionMnistClasses, KeepClasses: keep));

    [Fact]
    public void Open_Classes5To9_OnlyTheirImagesRelabelledZeroToFourNamesKept()
    {
        var full = Open(null);

        var subset = Open([5, 6, 7, 8, 9]);

        Assert.Equal(["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], subset.Classes);
        var expected = full.Samples.Where(s => s.Label >= 5).Select(s => s with { Label = s.Label - 5 }).ToList();
        Assert.Equal(expected, subset.Samples);
        // The official split keeps its roles: 4 of each kept class among the 40 train images, 2 among the 20 test images.
        Assert.Equal(20, subset.OfficialSplit!.Train.Count);
        Assert.Equal(10, subset.OfficialSplit.Test.Count);
        Assert.All(subset.OfficialSplit.Test, i => Assert.StartsWith("t10k-", subset.Samples[i].Path, StringComparison.Ordinal));
        int first = full.Samples.Select((s, i) => (s, i)).First(p => p.s.Label == 5).i;
        Assert.Equal(full.ContentHash(first), subset.ContentHash(0));
        Assert.Equal(full.Load(first).Pixels, subset.Load(0).Pixels);
    }

    [Fact]
    public void Open_ClassesInAnotherOrder_LabelsFollowTheListedOrder()
    {
        var full = Open(null);

        var subset = Open([9, 0]);

        Assert.Equal(["Ankle boot", "T-shirt/top"], subset.Classes);
        var expected = full.Samples.Where(s => s.Label is 0 or 9).Select(s => s with { Label = s.Label == 9 ? 0 : 1 }).ToList();
        Assert.Equal(expected, subset.Samples);
    }

    [Fact]
    public void Open_ClassBeyondTheDataset_DataExceptionNamesTheCount()
    {
        var error = Assert.Throws<DataException>(() => Open([5, 10]));

        Assert.Contains("class index 10 does not exist: the dataset has 10 classes (0..9)", error.Message);
    }

    [Fact]
    public void WriteManifest_ClassSubset_ListsOnlyKeptImagesWithNewLabels()
    {
        var subset = Open([5, 6, 7, 8, 9]);
        string path = Path.Combine(dir.Path, "split.tsv");

        Splits.WriteManifest(subset, Splits.Stratified(subset, 0.1, 1), path);

        var lines = File.ReadAllLines(path);
        Assert.Equal("# classes\tSandal\tShirt\tSneaker\tBag\tAnkle boot", lines[1]);
        var rows = lines.Where(l => !l.StartsWith('#') && !l.StartsWith("path\t", StringComparison.Ordinal)).Select(l => l.Split('\t')).ToList();
        Assert.Equal(30, rows.Count);
        Assert.All(rows, r => Assert.InRange(int.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture), 0, 4));
    }
}
