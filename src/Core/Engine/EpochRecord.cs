namespace Repro.Core.Engine;

/// <summary>One line of history.csv. Timings and resident memory vary between runs; the rest is reproducible.</summary>
public sealed record EpochRecord(
    int Epoch,
    double TrainLoss,
    double TrainAccuracy,
    double ValidationLoss,
    double ValidationAccuracy,
    double LearningRate,
    double Seconds,
    double ImagesPerSecond,
    double ResidentMegabytes = 0);

/// <summary>Progress of a training epoch, for the terminal or the build log.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int Batch, int Batches, long Images, double Loss, double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining);
