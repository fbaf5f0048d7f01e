using MathNet.Numerics.Distributions;

namespace Repro.Build.Tasks;

/// <summary>
/// A metric over a sweep's seeds: mean, sample standard deviation (n - 1), the 95 % confidence interval of the mean
/// (Student's t), and the prediction band VerifyExperiments uses on another platform.
/// </summary>
internal sealed record SeedStatistics(int N, double Mean, double Std)
{
    /// <summary>
    /// Chance that a single new run, drawn from the same distribution as the seeds, falls outside
    /// <see cref="PredictionHalfWidth"/>: the false-alarm rate of one statistical check of one metric.
    /// </summary>
    public const double FalseAlarmRate = 0.01;

    /// <summary>The fewest seeds a distribution needs before another platform can be checked against it.</summary>
    public const int MinimumSeeds = 3;

    public static SeedStatistics Of(IReadOnlyCollection<double> values)
    {
        int n = values.Count;
        double mean = n == 0 ? double.NaN : values.Average();
        double std = n < 2 ? double.NaN : Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        return new SeedStatistics(n, mean, std);
    }

    /// <summary>Half-width of the 95 % confidence interval of the mean: t(0.975, n - 1) * s / sqrt(n); NaN below 2 seeds.</summary>
    public double Ci95HalfWidth => N < 2 ? double.NaN : StudentT.InvCDF(0, 1, N - 1, 0.975) * Std / Math.Sqrt(N);

    /// <summary>
    /// Half-width of the two-sided prediction interval for one new run: t(1 - a/2, n - 1) * s * sqrt(1 + 1/n), with
    /// a = <see cref="FalseAlarmRate"/>. A new value independent of the n seeds and from the same normal distribution
    /// lands outside it with probability a (e.g. n = 5: 5.04 s).
    /// </summary>
    public double PredictionHalfWidth => N < 2 ? double.NaN : StudentT.InvCDF(0, 1, N - 1, 1 - FalseAlarmRate / 2) * Std * Math.Sqrt(1 + 1.0 / N);
}
