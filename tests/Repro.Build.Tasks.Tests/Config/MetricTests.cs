namespace Repro.Config.Tests;

public sealed class MetricTests
{
    [Fact]
    public void All_MetricsJsonTestKeys_InLockOrder() =>
        Assert.Equal(["accuracy", "loss", "macro_f1", "top5_accuracy", "correct", "images"], Metric.All.Select(m => m.Key));

    [Fact]
    public void Spread_AccuracyLossMacroF1() =>
        Assert.Equal([Metric.Accuracy, Metric.Loss, Metric.MacroF1], Metric.Spread);

    [Theory]
    [InlineData("accuracy", 0.7625, "76.25%")]
    [InlineData("top5_accuracy", 1.0, "100.00%")]
    [InlineData("loss", 0.64926, "0.6493")]
    [InlineData("macro_f1", 0.5, "0.5000")]
    [InlineData("correct", 763.0, "763")]
    public void Format_ByUnit_PercentPlainOrCount(string key, double value, string expected) =>
        Assert.Equal(expected, Metric.Find(key)!.Format(value));

    [Fact]
    public void Format_Missing_Dash()
    {
        Assert.Equal("—", Metric.Loss.Format(null));
        Assert.Equal("—", Metric.Loss.Format(double.NaN));
        Assert.Equal("—", Metric.Accuracy.Display(null));
    }

    [Fact]
    public void Display_LockedText_PercentConvertedOthersVerbatim()
    {
        Assert.Equal("76.30%", Metric.Accuracy.Display("0.763000"));
        Assert.Equal("0.649300", Metric.Loss.Display("0.649300"));
        Assert.Equal("1000", Metric.Images.Display("1000"));
    }

    [Theory]
    [InlineData("accuracy", 0.0625, "+6.25 pp")]
    [InlineData("accuracy", -0.0137, "-1.37 pp")]
    [InlineData("loss", -0.1, "-0.100000")]
    [InlineData("correct", 3.0, "+3")]
    public void FormatDelta_ByUnit_Signed(string key, double delta, string expected) =>
        Assert.Equal(expected, Metric.Find(key)!.FormatDelta(delta));

    [Fact]
    public void FormatSpread_OneSeedValueAloneElseMeanPlusMinusStd()
    {
        Assert.Equal("74.00%", Metric.Accuracy.FormatSpread(0.74, double.NaN, 1));
        Assert.Equal("74.00% ± 3.16 pp", Metric.Accuracy.FormatSpread(0.74, 0.0316228, 5));
        Assert.Equal("0.5200 ± 0.0158", Metric.Loss.FormatSpread(0.52, 0.0158114, 5));
    }

    [Fact]
    public void Direction_AccuracyUpLossDown()
    {
        Assert.Equal(MetricDirection.HigherIsBetter, Metric.Accuracy.Direction);
        Assert.Equal(MetricDirection.LowerIsBetter, Metric.Loss.Direction);
    }
}
