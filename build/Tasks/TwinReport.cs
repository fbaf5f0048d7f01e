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
/// of the means with its 95 % interval and Welch's p, and a verdict at <paramref name="alpha"/>.
/// </summary>
internal sealed class TwinReport(double alpha)
{
    public string Render(IReadOnlyList<TwinRow> rows, string notes)
    {
        var md = new StringBuilder();
        md.Append("# Validation: Repro against PyTorch, recipe by recipe\n\n");
        md.Append("Each experiment below ran in Repro (TorchSharp) and in PyTorch + torchvision (`scripts/twin.py`) on the same data files, the same ");
        md.Append("split manifest and the same recipe, once per seed. The two sides draw their random numbers from different generators, so they ");
        md.Append("agree only in distribution: the comparison is Welch's t-test on the per-seed test metrics, with the 95 % interval of the ");
        md.Append(CultureInfo.InvariantCulture, $"difference of the means (Repro − PyTorch). Verdict at α = {alpha}: \"indistinguishable at {alpha * 100:0} %\" or \"differs\".\n\n");
        var torchVersions = rows.Select(r => $"PyTorch {r.TorchText("torch")}, torchvision {r.TorchText("torchvision")}").Distinct();
        var platforms = rows.Select(r => r.Repro.Platform.Describe()).Distinct();
        md.Append(CultureInfo.InvariantCulture, $"Repro numerics platform: {string.Join("; ", platforms)}. Python side: {string.Join("; ", torchVersions)}.\n\n");
        md.Append("Regenerate: `dotnet build -t:TwinExperiments -p:Experiment=<name or tag>` (PyTorch results are cached per run as `pytorch.json`).\n");
        // One line per experiment first, so that recipes differing in one setting (the tutorial-faithful switches, say) read side by side.
        md.Append("\n## Summary: test accuracy\n\n| experiment | seeds | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | Welch p | verdict |\n|---|---|---|---|---|---|---|\n");
        foreach (var group in rows.GroupBy(r => r.Experiment))
            md.Append(CultureInfo.InvariantCulture, $"| {group.Key} | {group.Count()} | {Comparison(Metric.Accuracy, [.. group])} |\n");
        foreach (var group in rows.GroupBy(r => r.Experiment))
            Experiment(md, [.. group.OrderBy(r => r.Seed)]);
        if (notes.Length > 0)
            md.Append('\n').Append(notes.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd()).Append('\n');
        return md.ToString();
    }

    private void Experiment(StringBuilder md, IReadOnlyList<TwinRow> runs)
    {
        var first = runs[0].Repro;
        md.Append(CultureInfo.InvariantCulture, $"\n## {first.Name}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{first.Dataset}, {first.Model}, {first.Metrics.Epochs} epochs; seeds {string.Join(", ", runs.Select(r => r.Seed))}.\n\n");
        md.Append("| metric | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | Welch p | verdict |\n|---|---|---|---|---|---|\n");
        foreach (var metric in Metric.Spread)
            md.Append(CultureInfo.InvariantCulture, $"| {metric.Label} | {Comparison(metric, runs)} |\n");
        md.Append("\n| seed | Repro accuracy | PyTorch accuracy | Repro loss | PyTorch loss | Repro macro F1 | PyTorch macro F1 |\n|---|---|---|---|---|---|---|\n");
        foreach (var r in runs)
            md.Append(CultureInfo.InvariantCulture, $"| {r.Seed} | {string.Join(" | ", Metric.Spread.Select(m => $"{m.Format(r.Repro.Value(m))} | {m.Format(r.TorchValue(m))}"))} |\n");
    }

    /// <summary>"Repro mean ± std | PyTorch mean ± std | difference [interval] | p | verdict" for one metric.</summary>
    private string Comparison(Metric metric, IReadOnlyList<TwinRow> runs)
    {
        var a = SeedStatistics.Of([.. runs.Select(r => r.Repro.Value(metric)).OfType<double>()]);
        var b = SeedStatistics.Of([.. runs.Select(r => r.TorchValue(metric))]);
        var test = WelchTest.Of(a, b);
        return $"{metric.FormatSpread(a.Mean, a.Std, a.N)} | {metric.FormatSpread(b.Mean, b.Std, b.N)} | {metric.FormatDelta(test.Difference, 4)} " +
            $"[{metric.FormatDelta(test.Low, 4)}, {metric.FormatDelta(test.High, 4)}] | {test.P.ToString("0.000", CultureInfo.InvariantCulture)} | {Verdict(test.P)}";
    }

    private string Verdict(double p) =>
        double.IsNaN(p) ? "too few seeds" : p < alpha ? "differs" : string.Create(CultureInfo.InvariantCulture, $"indistinguishable at {alpha * 100:0} %");
}
