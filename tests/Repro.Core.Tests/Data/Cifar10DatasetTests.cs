using Repro.Config;
using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class Cifar10DatasetTests
{
    [Fact]
    public void Open_BinaryBatches_ClassesSamplesAndOfficialSplit()
    {
        using var dir = new TempDir();
        var root = Fixtures.Cifar(dir, records: 3);

        var ds = new Cifar10Dataset(Path.GetDirectoryName(root)!, recordsPerFile: 3);

        Assert.Equal(root, ds.Root);
        Assert.Equal(10, ds.Classes.Count);
        Assert.Equal("truck", ds.Classes[9]);
        Assert.Equal(18, ds.Samples.Count);
        Assert.Equal(Enumerable.Range(0, 15), ds.OfficialSplit!.Train);
        Assert.Equal(Enumerable.Range(15, 3), ds.OfficialSplit.Test);
        Assert.Equal(new Sample("data_batch_2.bin#00001", 2), ds.Samples[4]);
    }

    [Fact]
    public void Load_PlanarRecord_ReturnsInterleavedRgb()
    {
        using var dir = new TempDir();
        var ds = new Cifar10Dataset(Fixtures.Cifar(dir, records: 3), recordsPerFile: 3);

        var img = ds.Load(5); // data_batch_2.bin record 2

        Assert.Equal((32, 32), (img.Width, img.Height));
        var p = (1 * 32 + 2) * 3; // pixel index 34
        Assert.Equal(new byte[] { 2, 1, 34 }, img.Pixels[p..(p + 3)]);
    }

    [Fact]
    public void Open_FileOfWrongSize_ThrowsNamingFileAndExpectedSize()
    {
        using var dir = new TempDir();
        var root = Fixtures.Cifar(dir, records: 3);
        var bad = Path.Combine(root, "data_batch_3.bin");
        File.WriteAllBytes(bad, new byte[3073 * 3 - 1]);

        var e = Assert.Throws<DataException>(() => new Cifar10Dataset(root, recordsPerFile: 3));

        Assert.Equal(bad, e.FilePath);
        Assert.Contains("9219", e.Message);
    }

    [Fact]
    public void Open_OfficialSizeCheck_RejectsSmallFiles()
    {
        using var dir = new TempDir();

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Cifar10, Path.GetDirectoryName(Fixtures.Cifar(dir, records: 2))!));

        Assert.Contains("30730000", e.Message);
    }

    [Fact]
    public void Open_LabelOutOfRange_ThrowsNamingFile()
    {
        using var dir = new TempDir();
        var root = Fixtures.Cifar(dir, records: 2, label: (f, i) => (byte)(f == 5 && i == 1 ? 10 : 0));

        var e = Assert.Throws<DataException>(() => new Cifar10Dataset(root, recordsPerFile: 2));

        Assert.EndsWith("test_batch.bin", e.FilePath);
        Assert.Contains("label 10", e.Message);
    }
}
