using Repro.Config;
using Repro.Core.Data;
using SkiaSharp;
using TorchSharp;

namespace Repro.Core.Tests.Data;

public class DataLoaderTests
{
    /// <summary>Three classes of 40x30 JPEGs, 14 images in all, each with its own pattern.</summary>
    private static ImageDataset Photos(TempDir dir)
    {
        var root = dir.Sub("photos");
        for (var i = 0; i < 14; i++)
        {
            Fixtures.WriteImage(Path.Combine(root, $"c{i % 3}", $"img{i:D2}.jpg"), 40, 30, seed: i);
        }
        return Datasets.Open(DatasetKind.ImageFolder, root);
    }

    private static List<(float[] Images, long[] Labels, int[] Indices)> Run(DataLoader loader, int epoch)
    {
        var result = new List<(float[], long[], int[])>();
        foreach (var b in loader.Epoch(epoch))
        {
            using (b)
            {
                result.Add((b.Images.data<float>().ToArray(), b.Labels.data<long>().ToArray(), b.Indices));
            }
        }
        return result;
    }

    [Fact]
    public void Epoch_OneAndFourThreads_IdenticalBatches()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var pipeline = new InputPipeline(16, Augment: true, Normalization.ImageNet);
        var all = Enumerable.Range(0, ds.Samples.Count).ToArray();

        using var one = new DataLoader(ds, all, pipeline, batchSize: 4, shuffle: true, seed: 11, threads: 1);
        using var four = new DataLoader(ds, all, pipeline, batchSize: 4, shuffle: true, seed: 11, threads: 4);
        var a = Run(one, 2);
        var b = Run(four, 2);

        Assert.Equal(4, a.Count);
        for (var k = 0; k < a.Count; k++)
        {
            Assert.Equal(a[k].Indices, b[k].Indices);
            Assert.Equal(a[k].Labels, b[k].Labels);
            Assert.Equal(a[k].Images, b[k].Images);
        }
    }

    [Fact]
    public void Epoch_Batches_HaveNchwFloatImagesInt64LabelsAndPartialLastBatch()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), new InputPipeline(16, true, Normalization.Half), 4, shuffle: false, seed: 1);

        var batches = loader.Epoch(0).ToList();

        Assert.Equal(14, loader.Count);
        Assert.Equal(4, loader.BatchCount);
        Assert.Equal(new long[] { 4, 3, 16, 16 }, batches[0].Images.shape);
        Assert.Equal(torch.ScalarType.Float32, batches[0].Images.dtype);
        Assert.Equal(torch.ScalarType.Int64, batches[0].Labels.dtype);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, batches[3].Images.shape);
        Assert.Equal(new[] { 12, 13 }, batches[3].Indices);
        Assert.Equal(ds.Samples[13].Label, batches[3].Labels[1].item<long>());
        batches.ForEach(b => b.Dispose());
    }

    [Fact]
    public void Epoch_Shuffle_SameEpochRepeatsOtherEpochDiffers()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var pipeline = new InputPipeline(16, true, Normalization.ImageNet);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), pipeline, 14, shuffle: true, seed: 3);

        var e1 = Run(loader, 1)[0];
        var e1Again = Run(loader, 1)[0];
        var e2 = Run(loader, 2)[0];

        Assert.Equal(e1.Indices, e1Again.Indices);
        Assert.Equal(e1.Images, e1Again.Images);
        Assert.NotEqual(e1.Indices, e2.Indices);
        Assert.Equal(Enumerable.Range(0, 14), e2.Indices.Order());
    }

    [Fact]
    public void Epoch_EvalPipeline_ExactCentreCropValues()
    {
        using var dir = new TempDir();
        var root = dir.Sub("pattern");
        Directory.CreateDirectory(Path.Combine(root, "c"));
        File.WriteAllBytes(Path.Combine(root, "c", "p.png"), Fixtures.Encode(10, 6, SKEncodedImageFormat.Png));
        var ds = Datasets.Open(DatasetKind.ImageFolder, root);
        // Crop 3: resize the short side to floor(3 / 0.875) = 3, then the centre 3x3.
        using var loader = new DataLoader(ds, [0], new InputPipeline(3, Augment: false, Normalization.ImageNet), 1, shuffle: true, seed: 9);

        using var batch = loader.Epoch(0).Single();

        // torchvision: Compose([Resize(3), CenterCrop(3), ToTensor(), Normalize(ImageNet)]) on the same image.
        var x = batch.Images.data<float>().ToArray();
        Assert.Equal(-1.552787184715271f, x[0]);
        Assert.Equal(-1.8256301879882812f, x[9]);
        Assert.Equal(-1.5430065393447876f, x[18]);
        Assert.Equal(-1.1075435876846313f, x[7]); // row 2, column 1, red
        Assert.Equal(-0.7577030062675476f, x[9 + 7]);
        Assert.Equal(-1.1769933700561523f, x[18 + 7]);
        // Evaluation is never random: other epochs and seeds give the same values.
        using var other = new DataLoader(ds, [0], new InputPipeline(3, false, Normalization.ImageNet), 1, shuffle: true, seed: 1);
        using var again = other.Epoch(5).Single();
        Assert.Equal(x, again.Images.data<float>().ToArray());
    }

    [Fact]
    public void Epoch_SecondEpoch_ServedFromCacheWithoutDecoding()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var pipeline = new InputPipeline(16, true, Normalization.ImageNet);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), pipeline, 5, shuffle: true, seed: 4, threads: 2);
        var fresh = Datasets.Open(DatasetKind.ImageFolder, ds.Root);
        var reference = Run(new DataLoader(fresh, Enumerable.Range(0, 14).ToArray(), pipeline, 5, shuffle: true, seed: 4), 1);

        Run(loader, 0);
        Directory.Delete(Path.Combine(ds.Root, "c1"), recursive: true);
        var cached = Run(loader, 1);

        Assert.True(loader.CachedBytes > 0);
        Assert.Equal(reference.SelectMany(b => b.Images), cached.SelectMany(b => b.Images));
    }

    [Fact]
    public void Epoch_CacheCapacityZero_DecodesAgainWithSameResult()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var noCache = Datasets.Open(DatasetKind.ImageFolder, ds.Root);
        noCache.DecodedCacheCapacityBytes = 0;
        var pipeline = new InputPipeline(16, true, Normalization.ImageNet);
        using var uncached = new DataLoader(noCache, Enumerable.Range(0, 14).ToArray(), pipeline, 7, true, 4);
        using var cached = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), pipeline, 7, true, 4);

        Run(cached, 0);
        var a = Run(cached, 1);
        var b = Run(uncached, 1);

        Assert.Equal(0, uncached.CachedBytes);
        Assert.True(cached.CachedBytes > 0);
        Assert.Equal(a.SelectMany(x => x.Images), b.SelectMany(x => x.Images));
    }

    [Fact]
    public void Epoch_TrainAndEvalLoadersOfOneDataset_ShareDecodedImages()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var all = Enumerable.Range(0, 14).ToArray();
        using var train = new DataLoader(ds, all, new InputPipeline(16, true, Normalization.ImageNet), 4, true, 2);
        using var eval = new DataLoader(ds, all, new InputPipeline(16, false, Normalization.ImageNet), 4, false, 2);
        using var uncached = new DataLoader(ds, all, new InputPipeline(16, false, Normalization.ImageNet, DecodeShortSide: 4), 4, false, 2) { CacheDecoded = false };

        Run(train, 0);
        var afterTrain = ds.DecodedCacheBytes;
        Run(eval, 0);
        Run(uncached, 0);

        Assert.True(afterTrain > 0);
        Assert.Equal(afterTrain, ds.DecodedCacheBytes);
    }

    [Fact]
    public void Epoch_DecodeShortSide_CachesTheScaledDecode()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var pipeline = new InputPipeline(16, true, Normalization.ImageNet, DecodeShortSide: 4);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), pipeline, 7, true, 4);

        Run(loader, 0);

        // 40x30 JPEGs at libjpeg-turbo's 1/8 scale are 5x4.
        Assert.Equal(14L * 5 * 4 * 3, loader.CachedBytes);
    }

    [Fact]
    public void Epoch_CorruptImage_ThrowsDataExceptionNamingTheFile()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        var bad = Path.Combine(ds.Root, "c2", "img05.jpg");
        File.WriteAllBytes(bad, Fixtures.Encode(40, 30, SKEncodedImageFormat.Jpeg)[..200]);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), new InputPipeline(16, false, Normalization.Half), 4, false, 1, threads: 3);

        var e = Assert.Throws<DataException>(() => Run(loader, 0));

        Assert.Equal(bad, e.FilePath);
    }

    [Fact]
    public void Epoch_ConsumerStopsEarly_ReturnsWithoutPreparingTheRest()
    {
        using var dir = new TempDir();
        var ds = Photos(dir);
        using var loader = new DataLoader(ds, Enumerable.Range(0, 14).ToArray(), new InputPipeline(16, true, Normalization.Half), 1, true, 1) { Prefetch = 1 };

        using (var first = loader.Epoch(0).First())
        {
            Assert.Single(first.Indices);
        }

        // Prefetch 1: at most the consumed batch, one queued and one in preparation were decoded.
        Assert.InRange(loader.CachedBytes, 1, 3 * 40 * 30 * 3);
    }
}
