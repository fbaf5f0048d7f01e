using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Repro.Config.IO;

namespace Repro.Core.Data;

/// <summary>A written split manifest: where, its hash (which identifies the data in reports), and the sizes.</summary>
public sealed record SplitManifest(string Path, string Hash, int TrainCount, int TestCount);

/// <summary>Seeded splits and their manifests.</summary>
public static class Splits
{
    /// <summary>
    /// A stratified split: within each class, samples are ordered by ordinal path (so the directory listing
    /// order of the OS does not matter), shuffled by a generator keyed on (seed, class), and the first
    /// floor(n x <paramref name="testFraction"/>) go to test. Flooring per class reproduces the tutorial's
    /// 364 Flower test images (633/898/641/699/799 -> 63+89+64+69+79).
    /// </summary>
    public static DatasetSplit Stratified(ImageDataset ds, double testFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(ds);
        if (!(testFraction >= 0 && testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "The test fraction must be in [0, 1).");
        }
        var byClass = new List<int>[ds.Classes.Count];
        for (var c = 0; c < byClass.Length; c++)
        {
            byClass[c] = [];
        }
        var samples = ds.Samples;
        for (var i = 0; i < samples.Count; i++)
        {
            byClass[samples[i].Label].Add(i);
        }
        var train = new List<int>();
        var test = new List<int>();
        for (var c = 0; c < byClass.Length; c++)
        {
            var members = byClass[c];
            members.Sort((a, b) => string.CompareOrdinal(samples[a].Path, samples[b].Path));
            SeededRandom.Stream(RandomStream.Split, seed, (ulong)c).Shuffle(members);
            // The epsilon keeps products such as 100 x 0.29 (= 28.999999999999996 in binary) from losing one.
            var nTest = (int)Math.Floor(members.Count * testFraction + 1e-9);
            test.AddRange(members.Take(nTest));
            train.AddRange(members.Skip(nTest));
        }
        train.Sort();
        test.Sort();
        return new DatasetSplit(train, test);
    }

    /// <summary>
    /// The manifest's bytes (UTF-8, '\n' line ends, tab-separated: path, label, class, split, sha256; rows in
    /// ordinal path order). It holds no absolute paths, so the same data gives the same bytes, and hence the same
    /// hash, on every machine.
    /// </summary>
    public static byte[] Manifest(ImageDataset ds, DatasetSplit split)
    {
        ArgumentNullException.ThrowIfNull(ds);
        ArgumentNullException.ThrowIfNull(split);
        var rows = split.Train.Select(i => (Index: i, Part: "train"))
            .Concat(split.Test.Select(i => (Index: i, Part: "test")))
            .OrderBy(r => ds.Samples[r.Index].Path, StringComparer.Ordinal)
            .ToArray();
        var hashes = new string[rows.Length];
        Parallel.For(0, rows.Length, k => hashes[k] = ds.ContentHash(rows[k].Index));

        var sb = new StringBuilder();
        sb.Append("# repro split manifest v1\n");
        sb.Append("# classes\t").AppendJoin('\t', ds.Classes).Append('\n');
        // Files left out as undecodable change the data as much as files added, so they are part of its identity.
        foreach (var skipped in ds.SkippedFiles.Order(StringComparer.Ordinal))
        {
            sb.Append("# skipped\t").Append(skipped).Append('\n');
        }
        sb.Append("path\tlabel\tclass\tsplit\tsha256\n");
        for (var k = 0; k < rows.Length; k++)
        {
            var s = ds.Samples[rows[k].Index];
            sb.Append(s.Path).Append('\t')
                .Append(s.Label.ToString(CultureInfo.InvariantCulture)).Append('\t')
                .Append(ds.Classes[s.Label]).Append('\t')
                .Append(rows[k].Part).Append('\t')
                .Append(hashes[k]).Append('\n');
        }
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(sb.ToString());
    }

    /// <summary>The manifest's hash: what identifies the data in reports, fingerprints and checkpoints.</summary>
    public static string Hash(byte[] manifest) => Convert.ToHexStringLower(SHA256.HashData(manifest));

    /// <summary>Writes the manifest of <paramref name="split"/> to <paramref name="path"/> (complete or not at all).</summary>
    public static SplitManifest WriteManifest(ImageDataset ds, DatasetSplit split, string path)
    {
        var bytes = Manifest(ds, split);
        var full = System.IO.Path.GetFullPath(path);
        AtomicFile.WriteAllBytes(full, bytes);
        return new SplitManifest(full, Hash(bytes), split.Train.Count, split.Test.Count);
    }
}
