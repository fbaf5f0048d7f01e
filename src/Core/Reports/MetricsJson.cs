using Repro.Config;
using Repro.Core.Engine;

namespace Repro.Core.Reports;

/// <summary>The test stage's results as the <see cref="MetricsFile"/> record (metrics.json), from the engine's types.</summary>
public static class MetricsJson
{
    /// <param name="platform">The numerics platform the test ran on (<see cref="NumericsPlatform"/>); left out when null.</param>
    /// <param name="skipped">Images <c>skip_corrupt</c> left out (paths relative to the dataset root).</param>
    /// <param name="seed">The run's seed; left out when null.</param>
    /// <param name="input">The input format the run used (its layout is recorded); left out when null.</param>
    public static MetricsFile Create(string experiment, string configFingerprint, string dataFingerprint, TestMetrics test, IReadOnlyList<EpochRecord> history,
        NumericsPlatform? platform = null, IReadOnlyCollection<string>? skipped = null, ulong? seed = null, InputFormat? input = null)
    {
        int n = test.Classes.Count;
        var confusion = Enumerable.Range(0, n).Select(r => (IReadOnlyList<long>)Enumerable.Range(0, n).Select(c => test.Confusion[r, c]).ToArray()).ToArray();
        return new MetricsFile(experiment, configFingerprint, dataFingerprint, [.. skipped ?? []], history.Count, platform?.ToRecord(),
            new TestResult(test.Count, test.Correct, test.Loss, test.Accuracy, test.Top5Accuracy, test.MacroF1,
                [.. test.PerClass.Select(c => new ClassResult(c.Name, c.Count, c.Correct, c.Accuracy, c.Precision, c.F1))], confusion),
            [.. history.Select(h => new EpochResult(h.Epoch, h.TrainLoss, h.TrainAccuracy, h.ValidationLoss, h.ValidationAccuracy, h.LearningRate))],
            seed, input is { } f ? (f.ChannelsLast ? InputLayout.ChannelsLast : InputLayout.Nchw) : null);
    }

    /// <summary>metrics.json's text (see <see cref="MetricsFile.ToJson"/>).</summary>
    public static string Write(string experiment, string configFingerprint, string dataFingerprint, TestMetrics test, IReadOnlyList<EpochRecord> history,
        NumericsPlatform? platform = null, IReadOnlyCollection<string>? skipped = null, ulong? seed = null, InputFormat? input = null) =>
        Create(experiment, configFingerprint, dataFingerprint, test, history, platform, skipped, seed, input).ToJson();
}
