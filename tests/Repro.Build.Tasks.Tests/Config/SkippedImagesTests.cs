namespace Repro.Config.Tests;

public sealed class SkippedImagesTests
{
    [Fact]
    public void Describe_None_Empty() => Assert.Equal("", SkippedImages.Describe([]));

    [Fact]
    public void Describe_TwoFiles_CountAndBothNamesInOrdinalOrder() =>
        Assert.Equal("2 unreadable images skipped: a/zz-truncated.jpg, b/zz-truncated.png",
            SkippedImages.Describe(["b/zz-truncated.png", "a/zz-truncated.jpg"]));

    [Fact]
    public void Describe_OneFile_Singular() =>
        Assert.Equal("1 unreadable image skipped: a/x.jpg", SkippedImages.Describe(["a/x.jpg"]));

    [Fact]
    public void Describe_FiveFiles_FirstThreeAndMore() =>
        Assert.Equal("5 unreadable images skipped: a, b, c and 2 more", SkippedImages.Describe(["e", "d", "c", "b", "a"]));
}
