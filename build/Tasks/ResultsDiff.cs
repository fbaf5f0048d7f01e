using System.Globalization;
using System.Text;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// DiffExperiments' tables: the metrics that moved between two sets of lock entries (old and new), and the per-class
/// changes of one experiment's snapshots. A change of a sweep's mean comes with the 95 % interval of the difference of
/// the means and Welch's p, so a reviewer sees whether it stands out of the seed-to-seed noise; with one run on either
/// side no spread is measured, and the table says so rather than showing a bare number as if it were significant.
/// </summary>
internal static class ResultsDiff
{
    public const string Header = "| experiment | metric | old ({0}) | new ({1}) | delta | 95 % interval | Welch p |\n|---|---|---|---|---|---|---|\n";

    private const string NoSpread = "no spread measured";

    /// <summary>The metrics table between <paramref name="old"/> and <paramref name="new"/> (lock entries by experiment).</summary>
    public static string Table(IReadOnlyDictionary<string, LockEntry> old, IReadOnlyDictionary<string, LockEntry> @new, string oldLabel, string newLabel)
    {
        var md = new StringBuilder(string.Format(CultureInfo.InvariantCulture, Header, oldLabel, newLabel));
        int rows = 0;
        foreach (var name in old.Keys.Union(@new.Keys).Order(StringComparer.Ordinal))
        {
            var (o, n) = Compared(old.GetValueOrDefault(name), @new.GetValueOrDefault(name));
            var lines = o?.Seeds.Count > 1 || n?.Seeds.Count > 1 ? SpreadRows(name, o, n) : SingleRows(name, o, n);
            foreach (var line in lines)
            {
                md.Append(line);
                rows++;
            }
        }
        if (rows == 0)
            md.Append("| (no changes) | | | | | | |\n");
        return md.ToString();
    }

    /// <summary>A sweep on either side: the means of the spread metrics, with the interval of their difference and Welch's p.</summary>
    private static IEnumerable<string> SpreadRows(string name, PlatformResults? o, PlatformResults? n)
    {
        foreach (var metric in Metric.Spread)
        {
            var a = o?.Statistics(metric);
            var b = n?.Statistics(metric);
            if (a?.N == b?.N && (a is null || (a.Mean == b!.Mean && (a.N < 2 || a.Std == b.Std))))
                continue;
            if (a is null || b is null || a.N == 0 || b.N == 0)
            {
                yield return $"| {name} | {metric.Key} | {Side(metric, a)} | {Side(metric, b)} | {(a is null || a.N == 0 ? "added" : "removed")} | | |\n";
                continue;
            }
            var test = WelchTest.Of(b, a);
            string interval = test.NoSpread ? NoSpread : $"{metric.FormatDelta(test.Low, 4)} to {metric.FormatDelta(test.High, 4)}";
            string p = test.NoSpread ? "—" : test.P.ToString("0.000", CultureInfo.InvariantCulture);
            yield return $"| {name} | {metric.Key} | {Side(metric, a)} | {Side(metric, b)} | {metric.FormatDelta(test.Difference)} | {interval} | {p} |\n";
        }
    }

    /// <summary>One run on each side: every locked number that changed; one value per side measures no spread.</summary>
    private static IEnumerable<string> SingleRows(string name, PlatformResults? o, PlatformResults? n)
    {
        var om = o?.Seeds.Values.FirstOrDefault();
        var nm = n?.Seeds.Values.FirstOrDefault();
        foreach (var metric in Metric.All)
        {
            string? a = om?.GetValueOrDefault(metric.Key), b = nm?.GetValueOrDefault(metric.Key);
            if (a == b)
                continue;
            string delta = a is null || b is null ? (a is null ? "added" : "removed") : metric.FormatDelta(Number(b) - Number(a));
            string spread = a is null || b is null || metric.Unit == MetricUnit.Count ? " " : $" {NoSpread} ";
            yield return $"| {name} | {metric.Key} | {metric.Display(a)} | {metric.Display(b)} | {delta} |{spread}| |\n";
        }
    }

    /// <summary>The platforms' results to compare: the same platform on both sides when there is one, else each side's distribution.</summary>
    private static (PlatformResults? Old, PlatformResults? New) Compared(LockEntry? old, LockEntry? @new)
    {
        if (old is not null && @new is not null)
            foreach (var id in old.Platforms.Keys)
                if (@new.Platforms.TryGetValue(id, out var shared))
                    return (old.Platforms[id], shared);
        return (old?.Distribution(), @new?.Distribution());
    }

    private static string Side(Metric metric, SeedStatistics? stats) =>
        stats is null || stats.N == 0 ? "—" : $"{metric.FormatSpread(stats.Mean, stats.Std, stats.N)} (n = {stats.N})";

    /// <summary>Per-class accuracy and F1, old and new, of the first seed on each side (the snapshots' per-class tables).</summary>
    public static string PerClass(ResultsSnapshot a, ResultsSnapshot b)
    {
        var md = new StringBuilder();
        string seed = a.Runs.Count > 1 || b.Runs.Count > 1 ? $" (first seed: {a.Runs.FirstOrDefault()?.Seed} vs {b.Runs.FirstOrDefault()?.Seed})" : "";
        md.Append(CultureInfo.InvariantCulture, $"Per class{seed}:\n\n| class | accuracy (old) | accuracy (new) | delta | F1 (old) | F1 (new) | delta |\n|---|---|---|---|---|---|---|\n");
        int unchanged = 0;
        for (int i = 0; i < b.Classes.Count; i++)
        {
            var (o, n) = (a.Classes[i].Values, b.Classes[i].Values);
            // Only the classes that moved: with dozens of classes the table would otherwise bury them.
            if (o.GetValueOrDefault("accuracy") == n.GetValueOrDefault("accuracy") && o.GetValueOrDefault("f1") == n.GetValueOrDefault("f1"))
            {
                unchanged++;
                continue;
            }
            md.Append(CultureInfo.InvariantCulture,
                $"| {b.Classes[i].Name} | {Cell(Metric.Accuracy, o, "accuracy")} | {Cell(Metric.Accuracy, n, "accuracy")} | {Delta(Metric.Accuracy, o, n, "accuracy")} " +
                $"| {Cell(Metric.MacroF1, o, "f1")} | {Cell(Metric.MacroF1, n, "f1")} | {Delta(Metric.MacroF1, o, n, "f1")} |\n");
        }
        if (unchanged > 0)
            md.Append(CultureInfo.InvariantCulture, $"\n{unchanged} of {b.Classes.Count} classes unchanged.\n");
        return md.ToString();
    }

    /// <summary>A per-class value, read as the metric of the same kind (a class's accuracy like the accuracy, its F1 like macro F1).</summary>
    private static string Cell(Metric kind, IReadOnlyDictionary<string, string> values, string key) => kind.Display(values.GetValueOrDefault(key));

    private static string Delta(Metric kind, IReadOnlyDictionary<string, string> o, IReadOnlyDictionary<string, string> n, string key) =>
        o.GetValueOrDefault(key) is not { } a || n.GetValueOrDefault(key) is not { } b
            ? (o.ContainsKey(key) ? "removed" : "added")
            : kind.FormatDelta(Number(b) - Number(a));

    private static double Number(string raw) => double.Parse(raw, CultureInfo.InvariantCulture);
}
