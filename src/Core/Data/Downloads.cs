using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Repro.Config;

namespace Repro.Core.Data;

/// <summary>One published file: where it is, its published MD5 and/or size, and, for archives, the
/// top-level folder it unpacks to.</summary>
public sealed record RemoteFile(Uri Url, string FileName, string? Md5 = null, long? Size = null, string? ExtractsTo = null);

/// <summary>The published files of a dataset and the folder (under the download target) that
/// <see cref="Datasets.Open"/> reads.</summary>
public sealed record DatasetSource(DatasetKind Kind, string RootFolder, string ExtractInto, IReadOnlyList<RemoteFile> Files)
{
    /// <summary>The same files fetched from a mirror (or a test server): each file name resolved against <paramref name="baseUrl"/>.</summary>
    public DatasetSource WithMirror(Uri baseUrl) =>
        this with { Files = Files.Select(f => f with { Url = new Uri(baseUrl, f.FileName) }).ToArray() };
}

/// <summary>
/// Downloads of the official archives, for users with internet. A file is downloaded to <c>name.part</c>
/// (resumed with an HTTP Range request when a previous attempt left one; restarted when the server ignores the
/// range), checked against its published MD5 and size, and only then renamed to its name; an archive is
/// unpacked into a temporary folder whose top-level folders are renamed into place at the end. So a
/// half-finished download or extraction never looks complete. Extraction uses System.Formats.Tar, which refuses
/// entries (and link targets) that would land outside the target folder.
/// </summary>
public static class Downloads
{
    /// <summary>The official sources. TensorFlow publishes no checksum for flower_photos.tgz, only its size.</summary>
    public static DatasetSource Official(DatasetKind kind) => kind switch
    {
        DatasetKind.Flower or DatasetKind.ImageFolder => new(DatasetKind.Flower, "flower_photos", ".", [
            new(new Uri("https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"), "flower_photos.tgz", Size: 228_813_984, ExtractsTo: "flower_photos"),
        ]),
        // torchvision/datasets/oxford_iiit_pet.py _RESOURCES.
        DatasetKind.OxfordPet => new(DatasetKind.OxfordPet, "oxford-iiit-pet", "oxford-iiit-pet", [
            new(new Uri("https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"), "images.tar.gz", Md5: "5c4f3ee8e5d25df40f4fd59a7f44e54c", ExtractsTo: "images"),
            new(new Uri("https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz"), "annotations.tar.gz", Md5: "95a8c909bbe2e81eed6a22bccdf3f68f", ExtractsTo: "annotations"),
        ]),
        // https://www.cs.toronto.edu/~kriz/cifar.html, binary version.
        DatasetKind.Cifar10 => new(DatasetKind.Cifar10, "cifar-10-batches-bin", ".", [
            new(new Uri("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"), "cifar-10-binary.tar.gz", Md5: "c32a1d4ab5d03f1284b67883e8d87530", ExtractsTo: "cifar-10-batches-bin"),
        ]),
        // Fashion-MNIST (github.com/zalandoresearch/fashion-mnist), MD5s as in torchvision/datasets/mnist.py FashionMNIST.resources.
        DatasetKind.Idx => new(DatasetKind.Idx, "fashion-mnist", "fashion-mnist", [
            new(new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz"), "train-images-idx3-ubyte.gz", Md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            new(new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-labels-idx1-ubyte.gz"), "train-labels-idx1-ubyte.gz", Md5: "25c81989df183df01b3e8a0aad5dffbe"),
            new(new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz"), "t10k-images-idx3-ubyte.gz", Md5: "bef4ecab320f06d8554ea6380940ec79"),
            new(new Uri("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz"), "t10k-labels-idx1-ubyte.gz", Md5: "bb300cfdad3c16e7a12a480ee83cd310"),
        ]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no official download"),
    };

    /// <summary>Fetches whatever of <paramref name="source"/> is not complete yet under <paramref name="target"/>
    /// and returns the dataset root to pass to <see cref="Datasets.Open"/>. Archives are removed once unpacked.</summary>
    public static async Task<string> FetchAsync(DatasetSource source, string target, HttpClient http, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(http);
        var into = Path.GetFullPath(Path.Combine(target, source.ExtractInto));
        Directory.CreateDirectory(into);
        foreach (var file in source.Files)
        {
            if (file.ExtractsTo is null)
            {
                await DownloadAsync(http, file, Path.Combine(into, file.FileName), ct).ConfigureAwait(false);
                continue;
            }
            if (Directory.Exists(Path.Combine(into, file.ExtractsTo)))
            {
                continue;
            }
            var archive = Path.Combine(into, file.FileName);
            await DownloadAsync(http, file, archive, ct).ConfigureAwait(false);
            ExtractTarGz(archive, into);
            if (!Directory.Exists(Path.Combine(into, file.ExtractsTo)))
            {
                throw new DataException(archive, $"the archive did not contain the expected folder '{file.ExtractsTo}/'.");
            }
            File.Delete(archive);
        }
        return Path.GetFullPath(Path.Combine(target, source.RootFolder));
    }

    /// <summary>Downloads one file to <paramref name="destination"/> via <c>destination.part</c>, resuming a
    /// partial file with a Range request, and verifies size and MD5 before the final rename.</summary>
    public static async Task DownloadAsync(HttpClient http, RemoteFile file, string destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(file);
        if (File.Exists(destination))
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        var part = destination + ".part";
        var have = File.Exists(part) ? new FileInfo(part).Length : 0;
        using (var request = new HttpRequestMessage(HttpMethod.Get, file.Url))
        {
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
            }
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            var resumed = have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
            var alreadyWhole = have > 0 && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable;
            if (!alreadyWhole)
            {
                if (!resumed && !response.IsSuccessStatusCode)
                {
                    throw new DataException(file.Url.ToString(), $"download failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.");
                }
                // A server that ignores the range sends the whole file: start the part file again.
                await using var output = new FileStream(part, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
                await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await body.CopyToAsync(output, 1 << 16, ct).ConfigureAwait(false);
            }
        }
        Verify(file, part);
        File.Move(part, destination, overwrite: false);
    }

    private static void Verify(RemoteFile file, string part)
    {
        var size = new FileInfo(part).Length;
        if (file.Size is long expected && size != expected)
        {
            File.Delete(part);
            throw new DataException(file.Url.ToString(), $"downloaded {size} bytes, expected {expected}; the partial file was removed.");
        }
        if (file.Md5 is { } md5)
        {
            string actual;
            using (var f = File.OpenRead(part))
            {
                actual = Convert.ToHexStringLower(MD5.HashData(f));
            }
            if (!string.Equals(actual, md5, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(part);
                throw new DataException(file.Url.ToString(), $"MD5 {actual} does not match the published {md5}; the download was removed.");
            }
        }
    }

    /// <summary>Unpacks a .tar.gz into <paramref name="destination"/>: into a temporary folder first, whose
    /// top-level entries are then moved into place, so an interrupted extraction leaves nothing that looks done.
    /// Entries that would land outside the folder are refused (System.Formats.Tar.TarFile checks names and link targets).</summary>
    public static void ExtractTarGz(string archive, string destination)
    {
        var dest = Path.GetFullPath(destination);
        Directory.CreateDirectory(dest);
        var tmp = Path.Combine(dest, ".extract-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            try
            {
                using var file = File.OpenRead(archive);
                using var gz = new GZipStream(file, CompressionMode.Decompress);
                TarFile.ExtractToDirectory(gz, tmp, overwriteFiles: false);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new DataException(archive, $"extraction refused or failed: {e.Message}", e);
            }
            foreach (var entry in new DirectoryInfo(tmp).EnumerateFileSystemInfos())
            {
                var to = Path.Combine(dest, entry.Name);
                if (entry is DirectoryInfo d)
                {
                    if (Directory.Exists(to))
                    {
                        throw new DataException(to, "already exists; remove it to extract the archive again.");
                    }
                    d.MoveTo(to);
                }
                else
                {
                    File.Move(entry.FullName, to, overwrite: true);
                }
            }
        }
        finally
        {
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, recursive: true);
            }
        }
    }
}
