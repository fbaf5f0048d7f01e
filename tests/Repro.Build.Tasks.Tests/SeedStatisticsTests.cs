namespace Repro.Build.Tasks.Tests;

public sealed class SeedStatisticsTests
{
    [Fact]
    public void WelchTest_EqualSpreadsMeansFivePointsApart_GivesTextbookTAndInterval()
    {
        // t = -0.05 / sqrt(2 * 0.001 / 5) = -2.5 with 8 degrees of freedom: two-sided p = 0.0369.
        var a = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);
        var b = SeedStatistics.Of([0.75, 0.77, 0.79, 0.81, 0.83]);

        var test = WelchTest.Of(a, b);

        Assert.Equal(-0.05, test.Difference, 12);
        Assert.Equal(0.0369, test.P, 4);
        Assert.Equal(-0.05 - 2.306004 * 0.02, test.Low, 5);
        Assert.Equal(-0.05 + 2.306004 * 0.02, test.High, 5);
        Assert.Equal(8, test.DegreesOfFreedom, 9);
    }

    [Fact]
    public void WelchTest_OneSeedOnASide_NoSpread()
    {
        var test = WelchTest.Of(SeedStatistics.Of([0.7]), SeedStatistics.Of([0.70, 0.72, 0.74]));

        Assert.True(test.NoSpread);
        Assert.Equal(0.7 - 0.72, test.Difference, 12);
    }

    [Fact]
    public void PredictionHalfWidth_FiveSeeds_Is504StandardDeviations()
    {
        // t(0.995, 4) = 4.604095 and sqrt(1 + 1/5) = 1.095445.
        var stats = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);

        Assert.Equal(4.604095 * 1.095445 * stats.Std, stats.PredictionHalfWidth, 5);
    }

    [Fact]
    public void BandDetectableShift_FiveSeeds_BandPlusPowerQuantile()
    {
        // (t(0.995, 4) + z(0.80)) * sqrt(1.2) * s = (4.604095 + 0.841621) * 1.095445 * s = 5.965 s.
        var stats = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);

        Assert.Equal(5.965485 * stats.Std, stats.BandDetectableShift, 4);
    }

    [Fact]
    public void WelchDetectableShift_FiveAgainstFive_EightDegreesOfFreedom()
    {
        // Equal spreads, k = n = 5: df 8, (t(0.995, 8) + t(0.80, 8)) * s * sqrt(2/5) = (3.355387 + 0.888890) * 0.632456 s.
        var stats = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);

        Assert.Equal((3.355387 + 0.888890) * 0.632456 * stats.Std, stats.WelchDetectableShift(5), 5);
    }

    [Fact]
    public void WelchDetectableShift_ThreeOrMoreReRunSeeds_DetectSmallerShiftsThanOneSeedsBand()
    {
        var stats = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);

        double[] shifts = [stats.BandDetectableShift, stats.WelchDetectableShift(3), stats.WelchDetectableShift(4), stats.WelchDetectableShift(5)];

        Assert.Equal(shifts.OrderDescending(), shifts);
        Assert.True(double.IsNaN(stats.WelchDetectableShift(1)), "one re-run seed has no spread: the band's figure applies");
    }

    [Fact]
    public void WelchDetectableShift_TwoReRunSeeds_DetectLessThanOneSeed()
    {
        // Two seeds estimate their own spread with one degree of freedom, which costs more than their mean gains:
        // the power table (docs/reproducibility.md) says so rather than selling k = 2 as an improvement.
        var stats = SeedStatistics.Of([0.70, 0.72, 0.74, 0.76, 0.78]);

        Assert.True(stats.WelchDetectableShift(2) > stats.BandDetectableShift);
    }
}
