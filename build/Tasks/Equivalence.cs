using System.Globalization;
using MathNet.Numerics.Distributions;

namespace Repro.Build.Tasks;

/// <summary>
/// Repro against PyTorch on one metric over seeds: Welch's unequal-variance t statistics for the difference of the means
/// (Repro − PyTorch), and with a margin the two one-sided tests (TOST; Schuirmann 1987) of equivalence within it.
/// </summary>
/// <remarks>
/// Welch's test not rejecting is not evidence of equality: with few seeds it rarely rejects anything. Equivalence is
/// shown when both one-sided nulls, difference ≤ −margin and difference ≥ +margin, are rejected at α: the same as the
/// (1 − 2α) interval of the difference (90 % for α = 0.05) lying inside ±margin. Verdicts: "equivalent within ±margin"
/// when TOST rejects; else "differs" when Welch's two-sided test rejects (the 95 % interval excludes 0); else "not shown".
/// </remarks>
/// <param name="Difference">Mean of Repro − mean of PyTorch.</param>
/// <param name="StandardError">√(s²_a/n_a + s²_b/n_b).</param>
/// <param name="Df">Welch–Satterthwaite degrees of freedom.</param>
/// <param name="Margin">Equivalence margin, in the metric's units; 0: no equivalence claim is tested.</param>
/// <param name="Alpha">Significance level of each test.</param>
internal sealed record Equivalence(double Difference, double StandardError, double Df, double Margin, double Alpha)
{
    /// <summary>The comparison of <paramref name="repro"/> with <paramref name="pytorch"/>; NaN statistics below two seeds a side.</summary>
    public static Equivalence Of(SeedStatistics repro, SeedStatistics pytorch, double margin, double alpha)
    {
        var welch = WelchTest.Of(repro, pytorch);
        return new(welch.Difference, welch.StandardError, welch.DegreesOfFreedom, margin, alpha);
    }

    /// <summary>The two-sided interval of the difference at <paramref name="level"/> (0.95: Welch's; 1 − 2α: TOST's).</summary>
    public (double Low, double High) Interval(double level)
    {
        if (double.IsNaN(StandardError))
            return (double.NaN, double.NaN);
        double q = StandardError == 0 ? 0 : StudentT.InvCDF(0, 1, Df, 0.5 + level / 2);
        return (Difference - q * StandardError, Difference + q * StandardError);
    }

    /// <summary>Welch's two-sided p-value for "no difference".</summary>
    public double WelchP =>
        double.IsNaN(StandardError) ? double.NaN
        : StandardError == 0 ? (Difference == 0 ? 1 : 0)
        : 2 * (1 - StudentT.CDF(0, 1, Df, Math.Abs(Difference / StandardError)));

    /// <summary>TOST's p-value, the larger of the two one-sided ones; NaN without a margin.</summary>
    public double TostP
    {
        get
        {
            if (double.IsNaN(StandardError) || Margin <= 0)
                return double.NaN;
            if (StandardError == 0)
                return Math.Abs(Difference) < Margin ? 0 : 1;
            double lower = 1 - StudentT.CDF(0, 1, Df, (Difference + Margin) / StandardError);
            double upper = StudentT.CDF(0, 1, Df, (Difference - Margin) / StandardError);
            return Math.Max(lower, upper);
        }
    }

    /// <summary>"equivalent within ±margin", "differs", "not shown", or "too few seeds".</summary>
    /// <param name="format">Writes the margin in the metric's units (e.g. "1.5 pp").</param>
    public string Verdict(Func<double, string> format) =>
        double.IsNaN(StandardError) ? "too few seeds"
        : TostP < Alpha ? $"equivalent within ±{format(Margin)}"
        : WelchP < Alpha ? "differs"
        : "not shown";

    /// <summary>Seeds per side that give TOST a power of <paramref name="power"/> when the true difference is 0 and each
    /// side's seed standard deviation is <paramref name="std"/>: n = 2 (z_{1−α} + z_{1−β/2})² σ² / margin² (normal approximation).</summary>
    public static int SeedsFor(double std, double margin, double alpha, double power)
    {
        double z = Normal.InvCDF(0, 1, 1 - alpha) + Normal.InvCDF(0, 1, 1 - (1 - power) / 2);
        return (int)Math.Ceiling(2 * z * z * std * std / (margin * margin));
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"difference {Difference:G4} ± {StandardError:G3} (df {Df:G3}), Welch p {WelchP:G3}, TOST p {TostP:G3} at margin {Margin:G3}");
}
