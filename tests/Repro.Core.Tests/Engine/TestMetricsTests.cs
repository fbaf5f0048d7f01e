using Repro.Core.Engine;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class TestMetricsTests
{
    // Rows: true class; columns: predicted. Class b is often mistaken for a, so a's precision and b's recall drop.
    private static readonly long[,] Confusion =
    {
        { 3, 0, 0 },
        { 2, 1, 1 },
        { 0, 0, 3 },
    };

    [Fact]
    public void Constructor_HandMadeConfusion_DerivesCountsAccuracyPrecisionRecallF1()
    {
        var m = new TestMetrics(["a", "b", "c"], Confusion, lossSum: 5.0, top5Correct: 0);

        Assert.Equal(10, m.Count);
        Assert.Equal(7, m.Correct);
        Assert.Equal(0.7, m.Accuracy, 12);
        Assert.Equal(0.5, m.Loss, 12);
        Assert.Null(m.Top5Accuracy);
        Assert.Equal(["a", "b", "c"], m.PerClass.Select(c => c.Name));
        Assert.Equal([3, 4, 3], m.PerClass.Select(c => c.Count));
        Assert.Equal([3, 1, 3], m.PerClass.Select(c => c.Correct));
        Assert.Equal([1.0, 0.25, 1.0], m.PerClass.Select(c => c.Accuracy));
        Assert.Equal([0.6, 1.0, 0.75], m.PerClass.Select(c => Math.Round(c.Precision, 12)));
        Assert.Equal([0.75, 0.4, Math.Round(6.0 / 7, 12)], m.PerClass.Select(c => Math.Round(c.F1, 12)));
        Assert.Equal((0.75 + 0.4 + 6.0 / 7) / 3, m.MacroF1, 12);
    }

    [Fact]
    public void Constructor_ClassNeverPredictedOrPresent_ZeroNotNaN()
    {
        var m = new TestMetrics(["a", "b"], new long[,] { { 2, 0 }, { 0, 0 } }, lossSum: 0, top5Correct: 0);

        var b = m.PerClass[1];
        Assert.Equal((0, 0.0, 0.0, 0.0), (b.Count, b.Accuracy, b.Precision, b.F1));
        Assert.Equal(0.5, m.MacroF1, 12);
    }

    [Fact]
    public void Accumulator_HandMadeLogits_ConfusionTop5AndMeanCrossEntropy()
    {
        string[] classes = ["c0", "c1", "c2", "c3", "c4", "c5"];
        var accumulator = new MetricsAccumulator(classes);
        // Every image scores class k with logit k: all predict c5, and c0 is the only class outside the top five.
        using var logits = arange(6, dtype: float32).repeat(3, 1);
        using var labels = tensor(new long[] { 0, 5, 3 });

        accumulator.Add(logits, labels);
        var m = accumulator.Result();

        double logSumExp = Math.Log(Enumerable.Range(0, 6).Sum(k => Math.Exp(k)));
        Assert.Equal(new[] { 0L, 0, 0, 0, 0, 1 }, Enumerable.Range(0, 6).Select(c => m.Confusion[0, c]));
        Assert.Equal(1, m.Confusion[3, 5]);
        Assert.Equal(1, m.Confusion[5, 5]);
        Assert.Equal(1, m.Correct);
        Assert.Equal(2.0 / 3, m.Top5Accuracy!.Value, 12);
        Assert.Equal(logSumExp - (0 + 5 + 3) / 3.0, m.Loss, 5);
    }

    [Fact]
    public void Accumulator_BatchedDifferently_SameLoss()
    {
        string[] classes = ["a", "b", "c"];
        using var logits = tensor(new float[] { 0.1f, 2f, -1f, 3f, 0.5f, 0.2f, -2f, 0f, 1f, 0.3f, 0.3f, 0.4f }).reshape(4, 3);
        using var labels = tensor(new long[] { 1, 0, 2, 2 });
        var whole = new MetricsAccumulator(classes);
        var split = new MetricsAccumulator(classes);

        whole.Add(logits, labels);
        split.Add(logits.narrow(0, 0, 3), labels.narrow(0, 0, 3));
        split.Add(logits.narrow(0, 3, 1), labels.narrow(0, 3, 1));

        Assert.Equal(whole.Result().Loss, split.Result().Loss);
        Assert.Equal(whole.Result().Correct, split.Result().Correct);
    }
}
