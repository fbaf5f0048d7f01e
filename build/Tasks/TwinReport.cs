using System.Globalization;
using System.Text;
using System.Text.Json;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>One seed of a twin comparison: Repro's run and the PyTorch twin's result (scripts/twin.py's JSON line).</summary>
internal sealed record TwinRow(RunResult Repro, JsonElement Torch)
{
    public string Experiment => Repro.Name;

    public ulong Seed => Repro.Seed;

    /// <summary>A metric of the PyTorch side (NaN when the twin did not report it).</summary>
    public double TorchValue(Metric metric) =>
        Torch.TryGetProperty(metric.Key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    public string TorchText(string name) => Torch.TryGetProperty(name, out var v) ? v.ToString() : "?";
}

/// <summary>
/// The twin comparison (docs/validation.md): per experiment each side's per-seed values and mean ± std, the difference
/// of the means with its 95 % interval and Welch's p, and a verdict at <paramref name="alpha"/>: "equivalent within ±m"
/// (TOST within <paramref name="margin"/> on accuracy), "differs" (Welch), or "not shown".
/// </summary>
internal sealed class TwinReport(double alpha, double margin)
{
    /// <summary>The commit the comparison was made at; empty: not stated.</summary>
    public string Commit { get; init; } = "";

    /// <summary>The command that regenerates the report; empty: the generic one.</summary>
    public string RegenerateCommand { get; init; } = "";

    /// <summary>Markdown of the deterministic checks (the host's parity command), put after the summary.</summary>
    public string Parity { get; init; } = "";

    /// <summary>Markdown appended as written.</summary>
    public string Notes { get; init; } = "";

    public string Render(IReadOnlyList<TwinRow> rows)
    {
        var md = new StringBuilder();
        md.Append("# Validation: Repro against PyTorch, recipe by recipe\n\n");
        md.Append("Each experiment below ran in Repro (TorchSharp) and in PyTorch + torchvision (`scripts/twin.py`) on the same data files, the same ");
        md.Append("split manifest and the same recipe, once per seed. The two sides draw their random numbers from different generators, so they ");
        md.Append("agree only in distribution. Test accuracy is compared by the two one-sided tests (TOST) of equivalence within a margin ");
        md.Append(CultureInfo.InvariantCulture, $"of ±{Metric.Accuracy.FormatDelta(margin).TrimStart('+')} (Welch's standard error; equivalent when the {100 - 200 * alpha:0} % interval of the difference lies inside the margin), ");
        md.Append(CultureInfo.InvariantCulture, $"and by Welch's t-test (the 95 % interval of the difference Repro − PyTorch). Verdicts at α = {alpha}: \"equivalent within ±m\" (TOST rejects), ");
        md.Append("else \"differs\" (Welch rejects), else \"not shown\". Loss and macro F1 have no margin: for them only \"differs\" or \"not shown\".\n\n");
        var torchVersions = rows.Select(r => $"PyTorch {r.TorchText("torch")}, torchvision {r.TorchText("torchvision")}").Distinct();
        var platforms = rows.Select(r => r.Repro.Platform.Describe()).Distinct();
        if (Commit.Length > 0)
            md.Append(CultureInfo.InvariantCulture, $"Made at commit {Commit}. ");
        md.Append(CultureInfo.InvariantCulture, $"Repro numerics platform: {string.Join("; ", platforms)}. Python side: {string.Join("; ", torchVersions)}.\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"Regenerate: `{(RegenerateCommand.Length > 0 ? RegenerateCommand : "dotnet build -t:TwinExperiments -p:Experiment=<name or tag>")}` (PyTorch results are cached per run as `pytorch.json`).\n");
        // One line per experiment first, so that recipes differing in one setting (the tutorial-faithful switches, say) read side by side.
        md.Append(CultureInfo.InvariantCulture,
            $"\n## Summary: test accuracy\n\n| experiment | seeds | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | [{100 - 200 * alpha:0} % interval] | Welch p | TOST p | verdict |\n|---|---|---|---|---|---|---|---|---|\n");
        foreach (var group in rows.GroupBy(r => r.Experiment))
            md.Append(CultureInfo.InvariantCulture, $"| {group.Key} | {group.Count()} | {Summary([.. group])} |\n");
        if (Parity.Length > 0)
            md.Append('\n').Append(Parity.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd()).Append('\n');
        foreach (var group in rows.GroupBy(r => r.Experiment))
            Experiment(md, [.. group.OrderBy(r => r.Seed)]);
        if (Notes.Length > 0)
            md.Append('\n').Append(Notes.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd()).Append('\n');
        return md.ToString();
    }

    private void Experiment(StringBuilder md, IReadOnlyList<TwinRow> runs)
    {
        var first = runs[0].Repro;
        md.Append(CultureInfo.InvariantCulture, $"\n## {first.Name}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{first.Dataset}, {first.Model}, {first.Metrics.Epochs} epochs; seeds {string.Join(", ", runs.Select(r => r.Seed))}.\n\n");
        md.Append("| metric | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | Welch p | verdict |\n|---|---|---|---|---|---|\n");
        foreach (var metric in Metric.Spread)
        {
            var (a, b, e) = Compare(metric, runs);
            var (low, high) = e.Interval(0.95);
            md.Append(CultureInfo.InvariantCulture,
                $"| {metric.Label} | {Spread(metric, a)} | {Spread(metric, b)} | {metric.FormatDelta(e.Difference, 4)} [{metric.FormatDelta(low, 4)}, {metric.FormatDelta(high, 4)}] | {P(e.WelchP)} | {Verdict(metric, e)} |\n");
        }
        md.Append("\n| seed | Repro accuracy | PyTorch accuracy | Repro loss | PyTorch loss | Repro macro F1 | PyTorch macro F1 |\n|---|---|---|---|---|---|---|\n");
        foreach (var r in runs)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Seed} | {string.Join(" | ", Metric.Spread.Select(m => $"{m.Format(r.Repro.Value(m))} | {m.Format(r.TorchValue(m))}"))} |\n");
    }

    /// <summary>The summary row's cells for test accuracy: both spreads, both intervals, both p-values and the verdict.</summary>
    private string Summary(IReadOnlyList<TwinRow> runs)
    {
        var metric = Metric.Accuracy;
        var (a, b, e) = Compare(metric, runs);
        var (low, high) = e.Interval(0.95);
        var (low90, high90) = e.Interval(1 - 2 * alpha);
        return $"{Spread(metric, a)} | {Spread(metric, b)} | {metric.FormatDelta(e.Difference, 4)} [{metric.FormatDelta(low, 4)}, {metric.FormatDelta(high, 4)}] " +
            $"| [{metric.FormatDelta(low90, 4)}, {metric.FormatDelta(high90, 4)}] | {P(e.WelchP)} | {P(e.TostP)} | {Verdict(metric, e)}";
    }

    private (SeedStatistics Repro, SeedStatistics Torch, Equivalence Test) Compare(Metric metric, IReadOnlyList<TwinRow> runs)
    {
        var a = SeedStatistics.Of([.. runs.Select(r => r.Repro.Value(metric)).OfType<double>()]);
        var b = SeedStatistics.Of([.. runs.Select(r => r.TorchValue(metric))]);
        return (a, b, Equivalence.Of(a, b, metric == Metric.Accuracy ? margin : 0, alpha));
    }

    private static string Spread(Metric metric, SeedStatistics s) => metric.FormatSpread(s.Mean, s.Std, s.N);

    private static string P(double p) => double.IsNaN(p) ? "—" : p.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Verdict(Metric metric, Equivalence e) => e.Verdict(m => metric.FormatDelta(m).TrimStart('+'));
}
