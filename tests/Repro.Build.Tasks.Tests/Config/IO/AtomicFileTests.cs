using Repro.Config.IO;

namespace Repro.Config.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-atomic-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void WriteAllText_MissingFolder_CreatesItAndWritesUtf8WithoutBom()
    {
        string path = Path.Combine(dir, "a", "b", "f.txt");

        AtomicFile.WriteAllText(path, "é\n");

        Assert.Equal([0xC3, 0xA9, (byte)'\n'], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void WriteAllBytes_ExistingFile_ReplacesItAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(dir, "f.bin");
        File.WriteAllBytes(path, [1, 2, 3, 4]);

        AtomicFile.WriteAllBytes(path, [5]);

        Assert.Equal([5], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir));
    }

    [Fact]
    public void Write_WriterThrows_TargetUntouchedAndTemporaryFileRemoved()
    {
        string path = Path.Combine(dir, "f.txt");
        File.WriteAllText(path, "old");

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte((byte)'x');
            throw new InvalidOperationException("interrupted");
        }));

        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir));
    }

    [Fact]
    public void WriteVia_ProducerSetsTimestamp_TimestampKept()
    {
        string path = Path.Combine(dir, "f.so");
        var stamp = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        AtomicFile.WriteVia(path, temp =>
        {
            Assert.NotEqual(path, temp);
            Assert.Equal(dir, Path.GetDirectoryName(temp));
            File.WriteAllText(temp, "new");
            File.SetLastWriteTimeUtc(temp, stamp);
        });

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void WriteIfChanged_SameContent_FalseAndFileLeftAsItWas()
    {
        string path = Path.Combine(dir, "f.md");
        AtomicFile.WriteAllText(path, "same");
        var stamp = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);

        Assert.False(AtomicFile.WriteIfChanged(path, "same"));

        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void WriteIfChanged_NewOrDifferentContent_TrueAndWritten()
    {
        string path = Path.Combine(dir, "sub", "f.md");

        Assert.True(AtomicFile.WriteIfChanged(path, "one"));
        Assert.True(AtomicFile.WriteIfChanged(path, "two"));

        Assert.Equal("two", File.ReadAllText(path));
    }
}
