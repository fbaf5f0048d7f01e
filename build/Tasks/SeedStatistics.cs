using MathNet.Numerics.Distributions;

namespace Repro.Build.Tasks;

/// <summary>
/// A metric over a sweep's seeds: mean, sample standard deviation (n - 1), the 95 % confidence interval of the mean
/// (Student's t), and the prediction band VerifyExperiments uses on another platform.
/// </summary>
internal sealed record SeedStatistics(int N, double Mean, double Std)
{
    /// <summary>
    /// Chance that a check of one metric fails when nothing changed: a single new run outside
    /// <see cref="PredictionHalfWidth"/>, or Welch's test rejecting for k new runs.
    /// </summary>
    public const double FalseAlarmRate = 0.01;

    /// <summary>The power the minimum detectable effects are stated at.</summary>
    public const double Power = 0.80;

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

    /// <summary>
    /// The smallest true shift of the mean that one new run falls outside the prediction band for with probability
    /// <see cref="Power"/>: (t(1 - a/2, n - 1) + z(power)) * s * sqrt(1 + 1/n), the normal approximation with s taken
    /// as the seed-to-seed standard deviation (the far tail's contribution is neglected). NaN below 2 seeds.
    /// </summary>
    public double BandDetectableShift =>
        N < 2 ? double.NaN : (StudentT.InvCDF(0, 1, N - 1, 1 - FalseAlarmRate / 2) + Normal.InvCDF(0, 1, Power)) * Std * Math.Sqrt(1 + 1.0 / N);

    /// <summary>
    /// The smallest true shift of the mean that Welch's test of <paramref name="k"/> new runs against these n seeds
    /// detects at <see cref="FalseAlarmRate"/> with probability <see cref="Power"/>, planning with equal spreads on both
    /// sides: (t(1 - a/2, df) + t(power, df)) * s * sqrt(1/k + 1/n), df the Welch–Satterthwaite degrees of freedom for
    /// equal variances. NaN below 2 seeds on either side.
    /// </summary>
    public double WelchDetectableShift(int k)
    {
        if (N < 2 || k < 2)
            return double.NaN;
        double a = 1.0 / k, b = 1.0 / N;
        double df = (a + b) * (a + b) / (a * a / (k - 1) + b * b / (N - 1));
        return (StudentT.InvCDF(0, 1, df, 1 - FalseAlarmRate / 2) + StudentT.InvCDF(0, 1, df, Power)) * Std * Math.Sqrt(a + b);
    }
}

/// <summary>
/// Welch's unequal-variance t-test of two sets of seeds: the difference of the means (a − b), its confidence interval
/// (Welch–Satterthwaite degrees of freedom) and the two-sided p-value. NaN when either side has fewer than 2 seeds:
/// one run measures no spread.
/// </summary>
internal sealed record WelchTest(double Difference, double Low, double High, double P, double DegreesOfFreedom, double StandardError = double.NaN)
{
    public static WelchTest Of(SeedStatistics a, SeedStatistics b, double confidence = 0.95)
    {
        double diff = a.Mean - b.Mean;
        if (a.N < 2 || b.N < 2)
            return new(diff, double.NaN, double.NaN, double.NaN, double.NaN);
        double va = a.Std * a.Std / a.N, vb = b.Std * b.Std / b.N, se = Math.Sqrt(va + vb);
        if (se == 0)
            return new(diff, diff, diff, diff == 0 ? 1 : 0, double.PositiveInfinity, 0);
        double df = (va + vb) * (va + vb) / (va * va / (a.N - 1) + vb * vb / (b.N - 1));
        double p = 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(diff / se)));
        double q = StudentT.InvCDF(0, 1, df, 1 - (1 - confidence) / 2);
        return new(diff, diff - q * se, diff + q * se, p, df, se);
    }

    /// <summary>Whether either side had too few seeds for a spread.</summary>
    public bool NoSpread => double.IsNaN(P);
}
