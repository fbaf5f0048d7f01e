using Repro.Config;
using Repro.Core.Data;
using Repro.Testing;

namespace Repro.Core.Tests.Data;

public class IdxDatasetTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Open_TrainAndT10kFiles_ExposesSamplesAndOfficialSplit(bool gzip)
    {
        using var dir = new TempDir();
        var root = Fixtures.IdxDataset(dir, train: 12, test: 5, gzip);

        var ds = Datasets.Open(DatasetKind.Idx, root);

        Assert.Equal(17, ds.Samples.Count);
        Assert.Equal(IdxDataset.FashionMnistClasses, ds.Classes);
        Assert.Equal(Enumerable.Range(0, 12), ds.OfficialSplit!.Train);
        Assert.Equal(Enumerable.Range(12, 5), ds.OfficialSplit.Test);
        var trainName = gzip ? "train-images-idx3-ubyte.gz" : "train-images-idx3-ubyte";
        Assert.Equal(new Sample($"{trainName}#00011", 1), ds.Samples[11]);
        Assert.Equal(3, ds.Samples[12].Label);
    }

    [Fact]
    public void Load_GrayscaleRecord_ReturnsThreeEqualChannelsOfThatRecord()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 3, test: 2, gzip: true));

        var img = ds.Load(2);

        Assert.Equal((3, 4), (img.Width, img.Height));
        // Record 2, row 1, column 2 of the fixture: (2 * 31 + 1 * 7 + 2) mod 256 = 71.
        var p = (1 * 3 + 2) * 3;
        Assert.Equal(new byte[] { 71, 71, 71 }, img.Pixels[p..(p + 3)]);
    }

    [Fact]
    public void ContentHash_DifferentRecords_Differ()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 3, test: 0, gzip: false));

        Assert.Null(ds.OfficialSplit);
        Assert.Equal(64, ds.ContentHash(0).Length);
        Assert.NotEqual(ds.ContentHash(0), ds.ContentHash(1));
    }

    [Fact]
    public void Open_FolderWithoutFashionInName_UsesDigitClasses()
    {
        using var dir = new TempDir();
        var ds = Datasets.Open(DatasetKind.Idx, Fixtures.IdxDataset(dir, train: 2, test: 0, gzip: false, name: "mnist"));

        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], ds.Classes);
    }

    [Fact]
    public void Open_WrongMagicNumber_ThrowsNamingFileAndExpectation()
    {
        using var dir = new TempDir();
        var root = Fixtures.IdxDataset(dir, train: 2, test: 0, gzip: false);
        var images = Path.Combine(root, "train-images-idx3-ubyte");
        Fixtures.WriteIdxImages(images, 2, 4, 3, gzip: false, magic: 0x0801);

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Idx, root));

        Assert.Equal(images, e.FilePath);
        Assert.Contains("0x00000803", e.Message);
    }

    [Fact]
    public void Open_LabelOutOfRange_ThrowsNamingFile()
    {
        using var dir = new TempDir();
        var root = Fixtures.IdxDataset(dir, train: 2, test: 0, gzip: false);
        Fixtures.WriteIdxLabels(Path.Combine(root, "train-labels-idx1-ubyte"), [1, 10], gzip: false);

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Idx, root));

        Assert.EndsWith("train-labels-idx1-ubyte", e.FilePath);
        Assert.Contains("label 10 of record 1 is out of range: expected 0..9", e.Message);
    }

    [Fact]
    public void Open_LabelCountDiffersFromImageCount_Throws()
    {
        using var dir = new TempDir();
        var root = Fixtures.IdxDataset(dir, train: 3, test: 0, gzip: false);
        Fixtures.WriteIdxLabels(Path.Combine(root, "train-labels-idx1-ubyte"), [1, 2], gzip: false);

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Idx, root));

        Assert.EndsWith("train-labels-idx1-ubyte", e.FilePath);
    }

    [Fact]
    public void Open_MissingTrainFiles_ThrowsDataException()
    {
        using var dir = new TempDir();

        Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.Idx, dir.Path));
    }

    [RequiresFact(ExternalSystem.FashionMnist)]
    public void Open_DebianFashionMnist_HasSeventyThousandImages()
    {
        var ds = Datasets.Open(DatasetKind.Idx, ExternalSystems.FashionMnistFolder);
        Assert.Equal(60_000, ds.OfficialSplit!.Train.Count);
        Assert.Equal(10_000, ds.OfficialSplit.Test.Count);
        Assert.Equal((28, 28), (ds.Load(0).Width, ds.Load(0).Height));
    }
}
