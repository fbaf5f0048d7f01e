using System.Globalization;

namespace Repro.Config;

/// <summary>How a metric's value reads: a fraction shown in percent, a plain number, or a count of images.</summary>
public enum MetricUnit { Percent, Plain, Count }

/// <summary>Which way a metric improves; a count of test images does neither.</summary>
public enum MetricDirection { HigherIsBetter, LowerIsBetter, Neither }

/// <summary>
/// A test metric of metrics.json's <c>test</c> object: its key, how people read it (label, unit, direction) and
/// whether it is summarised over a sweep's seeds. Every table, diff, verification and twin report takes its
/// formatting from here, so "an accuracy shows in percent" has one owner.
/// </summary>
/// <param name="Key">The key in metrics.json and the lock file.</param>
/// <param name="InSpread">Summarised as mean ± std over seeds and checked statistically on a foreign platform.</param>
public sealed record Metric(string Key, string Label, MetricUnit Unit, MetricDirection Direction, bool InSpread)
{
    public static Metric Accuracy { get; } = new("accuracy", "accuracy", MetricUnit.Percent, MetricDirection.HigherIsBetter, InSpread: true);

    public static Metric Loss { get; } = new("loss", "loss", MetricUnit.Plain, MetricDirection.LowerIsBetter, InSpread: true);

    public static Metric MacroF1 { get; } = new("macro_f1", "macro F1", MetricUnit.Plain, MetricDirection.HigherIsBetter, InSpread: true);

    public static Metric Top5Accuracy { get; } = new("top5_accuracy", "top-5 accuracy", MetricUnit.Percent, MetricDirection.HigherIsBetter, InSpread: false);

    public static Metric Correct { get; } = new("correct", "correct", MetricUnit.Count, MetricDirection.HigherIsBetter, InSpread: false);

    public static Metric Images { get; } = new("images", "images", MetricUnit.Count, MetricDirection.Neither, InSpread: false);

    /// <summary>Every test metric, in display order (the lock file's and the snapshots' column order).</summary>
    public static IReadOnlyList<Metric> All { get; } = [Accuracy, Loss, MacroF1, Top5Accuracy, Correct, Images];

    /// <summary>The metrics summarised over seeds and checked statistically across platforms.</summary>
    public static IReadOnlyList<Metric> Spread { get; } = [.. All.Where(m => m.InSpread)];

    /// <summary>The metric with <paramref name="key"/>; null for an unknown key.</summary>
    public static Metric? Find(string key) => All.FirstOrDefault(m => m.Key == key);

    /// <summary>A value for tables: percent with 2 decimals, counts whole, other numbers with 4 decimals; "—" when missing.</summary>
    public string Format(double? value) =>
        value is not { } v || !double.IsFinite(v) ? "—"
        : Unit switch
        {
            MetricUnit.Percent => (v * 100).ToString("F2", CultureInfo.InvariantCulture) + "%",
            MetricUnit.Count => v.ToString("F0", CultureInfo.InvariantCulture),
            _ => v.ToString("F4", CultureInfo.InvariantCulture),
        };

    /// <summary>A locked value (metrics.json's own text) for tables: percentages converted, everything else as written.</summary>
    public string Display(string? raw) =>
        raw is null ? "—"
        : Unit == MetricUnit.Percent && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? Format(v)
        : raw;

    /// <summary>A signed difference: "+1.20 pp" for percentages, "+3" for counts, six decimals otherwise.</summary>
    public string FormatDelta(double delta, int decimals = 6) =>
        double.IsNaN(delta) ? "—"
        : Unit switch
        {
            MetricUnit.Percent => (delta * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp",
            MetricUnit.Count => delta.ToString("+0;-0;0", CultureInfo.InvariantCulture),
            _ => delta.ToString("+0." + new string('0', decimals) + ";-0." + new string('0', decimals) + ";0." + new string('0', decimals), CultureInfo.InvariantCulture),
        };

    /// <summary>A spread or a shift without sign: "3.16 pp" for percentages, four decimals otherwise.</summary>
    public string FormatSize(double size) =>
        !double.IsFinite(size) ? "—"
        : Unit == MetricUnit.Percent ? (size * 100).ToString("F2", CultureInfo.InvariantCulture) + " pp"
        : size.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>Mean ± std over <paramref name="n"/> seeds; one seed shows its value alone.</summary>
    public string FormatSpread(double mean, double std, int n) =>
        n < 2 ? Format(mean) : $"{Format(mean)} ± {FormatSize(std)}";

    public override string ToString() => Key;
}
