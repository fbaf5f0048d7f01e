using Repro.Core.Engine;
using Repro.Core.Tests.Data;

namespace Repro.Core.Tests.Engine;

public sealed class FileLinkTests
{
    [Fact]
    public void LinkOrCopy_SameFolder_HardLinksSoAWriteThroughOneNameShowsThroughTheOther()
    {
        using var dir = new TempDir();
        string source = Path.Combine(dir.Path, "model-0002.bin");
        string linked = Path.Combine(dir.Path, "model.bin");
        File.WriteAllText(source, "epoch 2");

        Assert.True(FileLink.LinkOrCopy(source, linked));

        using (var stream = new FileStream(source, FileMode.Open, FileAccess.Write))
            stream.Write("EPOCH"u8);
        Assert.Equal("EPOCH 2", File.ReadAllText(linked));
    }

    [Fact]
    public void LinkOrCopy_OlderSourceOverAnExistingFile_ReplacesItAndStampsItNow()
    {
        using var dir = new TempDir();
        string source = Path.Combine(dir.Path, "model-0002.bin");
        string target = Path.Combine(dir.Path, "model.bin");
        File.WriteAllText(source, "new");
        File.WriteAllText(target, "old");
        File.SetLastWriteTimeUtc(source, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var before = DateTime.UtcNow.AddSeconds(-1);

        FileLink.LinkOrCopy(source, target);

        Assert.Equal("new", File.ReadAllText(target));
        // MSBuild compares a stage's outputs with its inputs by time: the link must not keep the checkpoint's old one.
        Assert.True(File.GetLastWriteTimeUtc(target) >= before);
        Assert.Empty(Directory.EnumerateFiles(dir.Path, ".*"));
    }
}
