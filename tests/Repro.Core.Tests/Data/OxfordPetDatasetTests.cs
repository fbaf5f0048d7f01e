using Repro.Config;
using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class OxfordPetDatasetTests
{
    [Fact]
    public void Open_OfficialLayout_ThirtySevenBreedsAndTrainvalTestSplit()
    {
        using var dir = new TempDir();

        var ds = Datasets.Open(DatasetKind.OxfordPet, Fixtures.OxfordPet(dir));

        Assert.Equal(37, ds.Classes.Count);
        Assert.Equal("Abyssinian", ds.Classes[0]);
        Assert.Equal("American Pit Bull Terrier", ds.Classes[1]);
        Assert.Equal(74, ds.Samples.Count);
        Assert.DoesNotContain(ds.Samples, s => s.Path.Contains("unlisted"));
        Assert.Equal(37, ds.OfficialSplit!.Train.Count);
        Assert.Equal(37, ds.OfficialSplit.Test.Count);
        Assert.All(ds.OfficialSplit.Test, i => Assert.EndsWith("_1.jpg", ds.Samples[i].Path));
        Assert.Equal(new Sample("images/Abyssinian_2.jpg", 0), ds.Samples[ds.OfficialSplit.Train[0]]);
    }

    [Fact]
    public void Open_SeededSplitOption_HidesTheOfficialSplit()
    {
        using var dir = new TempDir();

        var ds = Datasets.Open(DatasetKind.OxfordPet, Fixtures.OxfordPet(dir), new DatasetOptions(PetSplit: "seeded"));

        Assert.Null(ds.OfficialSplit);
        var split = Splits.Stratified(ds, 0.5, 3);
        Assert.Equal(37, split.Test.Count);
    }

    [Fact]
    public void Open_ClassIdOutOfRange_ThrowsNamingListFile()
    {
        using var dir = new TempDir();
        var root = Fixtures.OxfordPet(dir, perClass: 1);
        var list = Path.Combine(root, "annotations", "list.txt");
        File.AppendAllText(list, "breed99_1 38 1 1\n");

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.OxfordPet, root));

        Assert.Equal(list, e.FilePath);
        Assert.Contains("1..37", e.Message);
    }

    [Fact]
    public void Open_ListedImageMissing_ThrowsNamingTheImage()
    {
        using var dir = new TempDir();
        var root = Fixtures.OxfordPet(dir, perClass: 1);
        var missing = Path.Combine(root, "images", "breed05_1.jpg");
        File.Delete(missing);

        var e = Assert.Throws<DataException>(() => Datasets.Open(DatasetKind.OxfordPet, root));

        Assert.Equal(missing, e.FilePath);
    }
}
