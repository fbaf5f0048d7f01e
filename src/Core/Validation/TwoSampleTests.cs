using MathNet.Numerics.Distributions;

namespace Repro.Core.Validation;

/// <summary>Two-sample tests of "same distribution", for draws whose generators differ but whose algorithm should not.</summary>
public static class TwoSampleTests
{
    /// <summary>
    /// The two-sample Kolmogorov–Smirnov test: D = sup |F_a − F_b| over the empirical distribution functions, and its
    /// asymptotic p-value Q_KS((√n_e + 0.12 + 0.11/√n_e)·D) with n_e = n_a·n_b/(n_a + n_b) (Stephens 1970; Numerical
    /// Recipes 3rd ed., §14.3.3), accurate for n_e ≥ 4. Tied values are stepped over together, so integer-valued samples
    /// get the exact D; the test is then conservative (a p-value at least as large as the exact one).
    /// </summary>
    public static (double D, double P) KolmogorovSmirnov(double[] a, double[] b)
    {
        if (a.Length == 0 || b.Length == 0)
            throw new ArgumentException("both samples need at least one value");
        var x = (double[])a.Clone();
        var y = (double[])b.Clone();
        Array.Sort(x);
        Array.Sort(y);
        int i = 0, j = 0;
        double d = 0;
        while (i < x.Length && j < y.Length)
        {
            double v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] == v)
                i++;
            while (j < y.Length && y[j] == v)
                j++;
            d = Math.Max(d, Math.Abs((double)i / x.Length - (double)j / y.Length));
        }
        double ne = (double)x.Length * y.Length / (x.Length + y.Length);
        double sqrt = Math.Sqrt(ne);
        return (d, KolmogorovQ((sqrt + 0.12 + 0.11 / sqrt) * d));
    }

    /// <summary>Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} exp(−2 j² λ²), the Kolmogorov distribution's upper tail.</summary>
    internal static double KolmogorovQ(double lambda)
    {
        if (lambda < 0.2)
            return 1;
        double sum = 0, sign = 1;
        for (int j = 1; j <= 100; j++)
        {
            double term = sign * Math.Exp(-2.0 * j * j * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-12 * Math.Abs(sum))
                break;
            sign = -sign;
        }
        return Math.Clamp(2 * sum, 0, 1);
    }

    /// <summary>
    /// The two-proportion z-test (pooled variance): whether <paramref name="hitsA"/> of <paramref name="nA"/> and
    /// <paramref name="hitsB"/> of <paramref name="nB"/> come from the same rate; the two-sided p-value.
    /// </summary>
    public static double TwoProportions(int hitsA, int nA, int hitsB, int nB)
    {
        double pooled = (double)(hitsA + hitsB) / (nA + nB);
        double se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / nA + 1.0 / nB));
        if (se == 0)
            return 1;
        double z = ((double)hitsA / nA - (double)hitsB / nB) / se;
        return 2 * (1 - Normal.CDF(0, 1, Math.Abs(z)));
    }
}
