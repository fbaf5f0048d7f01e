using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using TorchSharp;

namespace Repro.Core.Data;

/// <summary>One batch: images float32 NCHW normalised, labels int64, and the dataset indices of its samples.</summary>
public sealed class Batch : IDisposable
{
    public Batch()
    {
    }

    [SetsRequiredMembers]
    public Batch(torch.Tensor images, torch.Tensor labels, int[] indices)
    {
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    public required torch.Tensor Images { get; init; }

    public required torch.Tensor Labels { get; init; }

    public required int[] Indices { get; init; }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Batches from a dataset, deterministic and parallel. The shuffle order comes from a generator keyed on
/// (seed, epoch) and every random choice of a sample's transform from one keyed on (seed, epoch, sample
/// index), so the batches do not depend on <c>threads</c>, on timing or on the cache. Unlike TorchSharp's
/// DataLoader, each epoch has its own order, and batches are prepared ahead (<see cref="Prefetch"/>) by a
/// producer task while the caller trains. Decoded images are kept (JPEGs decoded with DCT scaling to a short
/// side of at least <see cref="InputPipeline.DecodeSize"/>) in the dataset's cache (up to
/// <see cref="ImageDataset.DecodedCacheCapacityBytes"/>), so later epochs do not decode again.
/// </summary>
public sealed class DataLoader : IDisposable
{
    private readonly ImageDataset dataset;
    private readonly int[] indices;
    private readonly InputPipeline pipeline;
    private readonly int batchSize;
    private readonly bool shuffle;
    private readonly ulong seed;
    private readonly int threads;
    private readonly float[] table;

    public DataLoader(ImageDataset dataset, IReadOnlyList<int> indices, InputPipeline pipeline, int batchSize, bool shuffle, ulong seed, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pipeline.Crop);
        this.dataset = dataset;
        this.indices = indices.ToArray();
        this.pipeline = pipeline;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.seed = seed;
        this.threads = threads;
        table = pipeline.Normalization.Table();
    }

    /// <summary>Whether decoded images go through the dataset's cache (default true).</summary>
    public bool CacheDecoded { get; init; } = true;

    /// <summary>Batches prepared ahead of the consumer (default 2).</summary>
    public int Prefetch { get; init; } = 2;

    /// <summary>Number of samples.</summary>
    public int Count => indices.Length;

    /// <summary>Number of batches per epoch (the last one may be smaller, as PyTorch's drop_last=False).</summary>
    public int BatchCount => (indices.Length + batchSize - 1) / batchSize;

    /// <summary>Bytes of decoded images now in the dataset's cache.</summary>
    public long CachedBytes => dataset.DecodedCacheBytes;

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (dataset indices).</summary>
    public int[] Order(int epoch)
    {
        var order = (int[])indices.Clone();
        if (shuffle)
        {
            SeededRandom.Stream(RandomStream.Shuffle, seed, (ulong)epoch).Shuffle(order);
        }
        return order;
    }

    /// <summary>The batches of one epoch, in order. Dispose each batch; stopping early stops the producer.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        var order = Order(epoch);
        var channel = Channel.CreateBounded<(float[] Images, long[] Labels, int[] Indices)>(
            new BoundedChannelOptions(Math.Max(1, Prefetch)) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        using var cts = new CancellationTokenSource();
        var producer = Task.Run(() => Produce(order, epoch, channel.Writer, cts.Token));
        try
        {
            while (Wait(channel.Reader))
            {
                while (channel.Reader.TryRead(out var p))
                {
                    var c = pipeline.Crop;
                    yield return new Batch(
                        torch.tensor(p.Images, [p.Labels.Length, 3, c, c]),
                        torch.tensor(p.Labels, [p.Labels.Length]),
                        p.Indices);
                }
            }
        }
        finally
        {
            cts.Cancel();
            try
            {
                producer.Wait();
            }
            catch (AggregateException)
            {
                // The producer's failure reached the consumer through the channel already, or the consumer stopped early.
            }
        }
    }

    /// <summary>Prepares one sample into <paramref name="dst"/> (3 x Crop x Crop floats).</summary>
    public void Prepare(int sampleIndex, int epoch, Span<float> dst)
    {
        var size = pipeline.ResizeSize;
        var img = Image(sampleIndex, pipeline.DecodeSize);
        var c = pipeline.Crop;
        if (pipeline.Augment)
        {
            var ((top, left, h, w), flip) = Transforms.RandomAugmentation(img.Width, img.Height, seed, epoch, sampleIndex);
            var crop = Transforms.Resample(img, left, top, w, h, c, c);
            Transforms.WriteChw(crop, flip, table, dst);
        }
        else
        {
            Transforms.WriteChw(Transforms.ResizeThenCenterCrop(img, size, c), false, table, dst);
        }
    }

    public void Dispose()
    {
        // The decoded-image cache belongs to the dataset and outlives the loader; nothing else is held.
    }

    private static bool Wait<T>(ChannelReader<T> reader)
    {
        try
        {
            return reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    private RgbImage Image(int sampleIndex, int size) =>
        CacheDecoded ? dataset.LoadCached(sampleIndex, size) : dataset.Load(sampleIndex, size);

    private async Task Produce(int[] order, int epoch, ChannelWriter<(float[], long[], int[])> writer, CancellationToken ct)
    {
        Exception? failure = null;
        try
        {
            var per = 3 * pipeline.Crop * pipeline.Crop;
            for (var start = 0; start < order.Length; start += batchSize)
            {
                var n = Math.Min(batchSize, order.Length - start);
                var ids = order.AsSpan(start, n).ToArray();
                var images = new float[n * per];
                var labels = new long[n];
                var errors = new Exception?[n];
                var options = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct };
                Parallel.For(0, n, options, k =>
                {
                    try
                    {
                        Prepare(ids[k], epoch, images.AsSpan(k * per, per));
                        labels[k] = dataset.Samples[ids[k]].Label;
                    }
                    catch (Exception e)
                    {
                        errors[k] = e;
                    }
                });
                // The first failure in batch order, so the reported file does not depend on thread timing.
                if (Array.Find(errors, e => e is not null) is { } error)
                {
                    ExceptionDispatchInfo.Capture(error).Throw();
                }
                await writer.WriteAsync((images, labels, ids), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The consumer stopped early.
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            writer.TryComplete(failure);
        }
    }
}
