namespace Repro.Build.Tasks.Tests;

public sealed class EquivalenceTests
{
    [Fact]
    public void Of_EqualSpreadsMeansFivePointsApart_GivesTextbookWelchTAndInterval()
    {
        // t = -0.05 / sqrt(2 * 0.001 / 5) = -2.5 with 8 degrees of freedom: two-sided p = 0.0369.
        var a = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);
        var b = SeedStatistics.Of([0.75, 0.77, 0.79, 0.81, 0.83]);

        var e = Equivalence.Of(a, b, 0.015, 0.05);
        var (low, high) = e.Interval(0.95);

        Assert.Equal(-0.05, e.Difference, 12);
        Assert.Equal(8, e.Df, 9);
        Assert.Equal(0.0369, e.WelchP, 4);
        Assert.Equal(-0.05 - 2.306004 * 0.02, low, 5);
        Assert.Equal(-0.05 + 2.306004 * 0.02, high, 5);
        Assert.Equal("differs", e.Verdict(Pp));
    }

    [Fact]
    public void TostP_DifferenceZeroSmallStandardError_TextbookOneSidedTests()
    {
        // Twenty seeds a side, std 1 pp, means equal: se = 0.316 pp, df = 38; both one-sided t = ±1.5 / 0.316 = ±4.74,
        // p = P(T_38 > 4.74) = 1.5e-5; the 90 % interval ±1.686 · 0.316 = ±0.53 pp lies inside ±1.5 pp.
        var a = new SeedStatistics(20, 0.77, 0.01);
        var b = new SeedStatistics(20, 0.77, 0.01);

        var e = Equivalence.Of(a, b, 0.015, 0.05);
        var (low, high) = e.Interval(0.90);

        Assert.InRange(e.TostP, 5e-6, 5e-5);
        Assert.Equal(-1.686 * 0.01 * Math.Sqrt(0.1), low, 4);
        Assert.Equal(1.686 * 0.01 * Math.Sqrt(0.1), high, 4);
        Assert.Equal("equivalent within ±1.5 pp", e.Verdict(Pp));
    }

    [Fact]
    public void Verdict_IntervalStraddlesMarginAndZero_NotShown()
    {
        // Five seeds a side at std 2 pp: the 90 % interval of a 1 pp difference reaches past both 0 and +1.5 pp.
        var e = Equivalence.Of(new SeedStatistics(5, 0.78, 0.02), new SeedStatistics(5, 0.77, 0.02), 0.015, 0.05);

        Assert.True(e.TostP > 0.05 && e.WelchP > 0.05, e.ToString());
        Assert.Equal("not shown", e.Verdict(Pp));
    }

    [Fact]
    public void Verdict_NoMargin_NeverEquivalent()
    {
        var e = Equivalence.Of(new SeedStatistics(20, 0.5, 0.001), new SeedStatistics(20, 0.5, 0.001), 0, 0.05);

        Assert.True(double.IsNaN(e.TostP));
        Assert.Equal("not shown", e.Verdict(Pp));
    }

    [Fact]
    public void Verdict_OneSeed_TooFewSeeds()
    {
        var e = Equivalence.Of(new SeedStatistics(1, 0.5, double.NaN), new SeedStatistics(5, 0.5, 0.01), 0.015, 0.05);

        Assert.Equal("too few seeds", e.Verdict(Pp));
    }

    [Fact]
    public void SeedsFor_StdEqualToMargin_TwentyTwoSeedsForNinetyPercentPower()
    {
        // n = 2 (1.645 + 1.645)² σ² / δ² = 21.6 at σ = δ: 22 seeds a side for 90 % power when the true difference is 0.
        Assert.Equal(22, Equivalence.SeedsFor(0.015, 0.015, 0.05, 0.90));
    }

    private static string Pp(double fraction) => $"{fraction * 100:0.0} pp";
}
