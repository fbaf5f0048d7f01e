namespace Repro.Core.Engine;

/// <summary>Progress of a training epoch, for the terminal or the build log.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int Batch, int Batches, long Images, double Loss, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining);
