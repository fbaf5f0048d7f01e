using Repro.Config;
using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class SplitsTests
{
    [Fact]
    public void WriteManifest_SameSeed_ByteIdenticalManifest()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 60, test: 0, gzip: false));

        var a = Splits.WriteManifest(ds, Splits.Stratified(ds, 0.2, 7), Path.Combine(dir.Path, "out", "a.tsv"));
        var b = Splits.WriteManifest(ds, Splits.Stratified(ds, 0.2, 7), Path.Combine(dir.Path, "out", "b.tsv"));

        Assert.Equal(File.ReadAllBytes(a.Path), File.ReadAllBytes(b.Path));
        Assert.Equal(a.Hash, b.Hash);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(a.Path))), a.Hash);
        Assert.Equal((50, 10), (a.TrainCount, a.TestCount));
    }

    [Fact]
    public void Stratified_OtherSeed_OtherSplitAndManifestHash()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 60, test: 0, gzip: false));

        var s1 = Splits.Stratified(ds, 0.2, 7);
        var s2 = Splits.Stratified(ds, 0.2, 8);

        Assert.NotEqual(s1.Test, s2.Test);
        var h1 = Splits.WriteManifest(ds, s1, Path.Combine(dir.Path, "1.tsv")).Hash;
        var h2 = Splits.WriteManifest(ds, s2, Path.Combine(dir.Path, "2.tsv")).Hash;
        Assert.NotEqual(h1, h2);
    }

    [Fact]
    public void Stratified_TenPercent_EachClassKeepsItsRatio()
    {
        using var dir = new TempDir();
        // 95 samples, labels i mod 10: classes 0-4 have 10 members, classes 5-9 have 9.
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 95, test: 0, gzip: false));

        var split = Splits.Stratified(ds, 0.1, 1);

        var testPerClass = split.Test.GroupBy(i => ds.Samples[i].Label).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(5, testPerClass.Count);
        Assert.All(Enumerable.Range(0, 5), c => Assert.Equal(1, testPerClass[c]));
        Assert.Equal(95, split.Train.Count + split.Test.Count);
        Assert.Empty(split.Train.Intersect(split.Test));
    }

    [Fact]
    public void WriteManifest_Rows_HoldPathLabelClassSplitAndHash()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 3, test: 1, gzip: false));

        var m = Splits.WriteManifest(ds, ds.OfficialSplit!, Path.Combine(dir.Path, "m.tsv"));

        var lines = File.ReadAllText(m.Path).Split('\n');
        Assert.Equal("path\tlabel\tclass\tsplit\tsha256", lines[2]);
        Assert.Equal($"t10k-images-idx3-ubyte#00000\t3\tDress\ttest\t{ds.ContentHash(3)}", lines[3]);
        Assert.Equal($"train-images-idx3-ubyte#00001\t1\tTrouser\ttrain\t{ds.ContentHash(1)}", lines[5]);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }
}
