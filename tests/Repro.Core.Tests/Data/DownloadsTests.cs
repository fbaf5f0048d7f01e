using Repro.Config;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Repro.Core.Data;

namespace Repro.Core.Tests.Data;

public class DownloadsTests
{
    private static byte[] Payload(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 % 251)).ToArray();

    private static string Md5(byte[] b) => Convert.ToHexStringLower(MD5.HashData(b));

    /// <summary>A .tar.gz with the given (name, content) entries; names are written as given, "../x" included.</summary>
    private static byte[] TarGz(params (string Name, byte[] Content)[] entries)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                var e = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };
                tar.WriteEntry(e);
            }
        }
        return ms.ToArray();
    }

    [Fact]
    public async Task DownloadAsync_ChecksumMatches_WritesFileAndNoPartFile()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        var data = Payload(10_000);
        server.Add("f.bin", data);
        var dest = Path.Combine(dir.Path, "f.bin");
        using var http = new HttpClient();

        await Downloads.DownloadAsync(http, new RemoteFile(new Uri(server.BaseUrl, "f.bin"), "f.bin", Md5(data), data.Length), dest);

        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.False(File.Exists(dest + ".part"));
    }

    [Fact]
    public async Task DownloadAsync_ChecksumMismatch_ThrowsAndLeavesNothing()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer();
        server.Add("f.bin", Payload(1000));
        var dest = Path.Combine(dir.Path, "f.bin");
        using var http = new HttpClient();

        var e = await Assert.ThrowsAsync<DataException>(() =>
            Downloads.DownloadAsync(http, new RemoteFile(new Uri(server.BaseUrl, "f.bin"), "f.bin", Md5([1, 2, 3])), dest));

        Assert.Contains("does not match", e.Message);
        Assert.False(File.Exists(dest));
        Assert.False(File.Exists(dest + ".part"));
    }

    [Fact]
    public async Task DownloadAsync_InterruptedThenRetried_ResumesWithRange()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { CutNextResponseAt = 4096 };
        var data = Payload(20_000);
        server.Add("f.bin", data);
        var dest = Path.Combine(dir.Path, "f.bin");
        var file = new RemoteFile(new Uri(server.BaseUrl, "f.bin"), "f.bin", Md5(data));
        using var http = new HttpClient();

        await Assert.ThrowsAnyAsync<Exception>(() => Downloads.DownloadAsync(http, file, dest));
        Assert.False(File.Exists(dest));
        var partial = new FileInfo(dest + ".part").Length;
        Assert.InRange(partial, 1, data.Length - 1);

        await Downloads.DownloadAsync(http, file, dest);

        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.Equal(["", $"bytes={partial}-"], server.RangeHeaders);
    }

    [Fact]
    public async Task DownloadAsync_ServerIgnoresRange_RestartsCleanly()
    {
        using var dir = new TempDir();
        using var server = new LoopbackServer { HonourRange = false };
        var data = Payload(5000);
        server.Add("f.bin", data);
        var dest = Path.Combine(dir.Path, "f.bin");
        File.WriteAllBytes(dest + ".part", Payload(1200));
        using var http = new HttpClient();

        await Downloads.DownloadAsync(http, new RemoteFile(new Uri(server.BaseUrl, "f.bin"), "f.bin", Md5(data)), dest);

        Assert.Equal(data, File.ReadAllBytes(dest));
        Assert.Equal(["bytes=1200-"], server.RangeHeaders);
    }

    [Fact]
    public void ExtractTarGz_EntryOutsideTarget_RefusedAndNothingWrittenOutside()
    {
        using var dir = new TempDir();
        var archive = Path.Combine(dir.Path, "evil.tar.gz");
        File.WriteAllBytes(archive, TarGz(("good/a.txt", [1]), ("../evil.txt", [2])));
        var target = dir.Sub("target");

        var e = Assert.Throws<DataException>(() => Downloads.ExtractTarGz(archive, target));

        Assert.Equal(archive, e.FilePath);
        Assert.False(File.Exists(Path.Combine(dir.Path, "evil.txt")));
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public void ExtractTarGz_SymlinkPointingOutside_Refused()
    {
        using var dir = new TempDir();
        var archive = Path.Combine(dir.Path, "link.tar.gz");
        using (var f = File.Create(archive))
        using (var gz = new GZipStream(f, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "data/escape") { LinkName = "../../outside" });
        }
        var target = dir.Sub("target");

        Assert.Throws<DataException>(() => Downloads.ExtractTarGz(archive, target));

        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Fact]
    public async Task FetchAsync_CifarFromMirror_DownloadsVerifiesExtractsAndOpens()
    {
        using var dir = new TempDir();
        using var fixtureDir = new TempDir();
        var cifar = Fixtures.Cifar(fixtureDir, records: 2);
        var entries = Directory.GetFiles(cifar).Select(f => ("cifar-10-batches-bin/" + Path.GetFileName(f), File.ReadAllBytes(f))).ToArray();
        var archive = TarGz(entries);
        using var server = new LoopbackServer();
        server.Add("cifar-10-binary.tar.gz", archive);
        var official = Downloads.Official(DatasetKind.Cifar10);
        var source = official.WithMirror(server.BaseUrl) with
        {
            Files = [official.WithMirror(server.BaseUrl).Files[0] with { Md5 = Md5(archive) }],
        };
        using var http = new HttpClient();

        var root = await Downloads.FetchAsync(source, dir.Path, http);
        var again = await Downloads.FetchAsync(source, dir.Path, http);

        Assert.Equal(Path.Combine(dir.Path, "cifar-10-batches-bin"), root);
        Assert.Equal(root, again);
        Assert.Single(server.RangeHeaders); // the second fetch found it complete
        Assert.Equal(12, new Cifar10Dataset(root, recordsPerFile: 2).Samples.Count);
        Assert.Equal(["cifar-10-batches-bin"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task FetchAsync_OxfordPetFromMirror_UnpacksBothArchivesIntoOneRoot()
    {
        using var dir = new TempDir();
        using var fixtureDir = new TempDir();
        var pet = Fixtures.OxfordPet(fixtureDir, perClass: 1);
        byte[] Pack(string folder) => TarGz(Directory.GetFiles(Path.Combine(pet, folder))
            .Select(f => ($"{folder}/{Path.GetFileName(f)}", File.ReadAllBytes(f))).ToArray());
        var images = Pack("images");
        var annotations = Pack("annotations");
        using var server = new LoopbackServer();
        server.Add("images.tar.gz", images);
        server.Add("annotations.tar.gz", annotations);
        var mirrored = Downloads.Official(DatasetKind.OxfordPet).WithMirror(server.BaseUrl);
        var source = mirrored with { Files = [mirrored.Files[0] with { Md5 = Md5(images) }, mirrored.Files[1] with { Md5 = Md5(annotations) }] };
        using var http = new HttpClient();

        var root = await Downloads.FetchAsync(source, dir.Path, http);

        Assert.Equal(Path.Combine(dir.Path, "oxford-iiit-pet"), root);
        var ds = Datasets.Open(DatasetKind.OxfordPet, root);
        Assert.Equal(37, ds.Samples.Count);
        Assert.Equal(["annotations", "images"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Official_PublishedChecksums_AreTheKnownOnes()
    {
        Assert.Equal("c32a1d4ab5d03f1284b67883e8d87530", Downloads.Official(DatasetKind.Cifar10).Files[0].Md5);
        Assert.Equal(["images", "annotations"], Downloads.Official(DatasetKind.OxfordPet).Files.Select(f => f.ExtractsTo));
        Assert.Equal(4, Downloads.Official(DatasetKind.Idx).Files.Count(f => f.Md5 is { Length: 32 }));
        Assert.Equal(228_813_984, Downloads.Official(DatasetKind.Flower).Files[0].Size);
    }
}
