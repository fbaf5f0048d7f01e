using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MathNet.Numerics.Distributions;
using Microsoft.Build.Framework;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// The PyTorch twin of each selected Repro run: the same recipe trained by PyTorch + torchvision
/// (<c>scripts/twin.py</c>) on the same data files and split manifest for the same seed, cached in the run's folder as
/// <c>pytorch.json</c> (re-run only when the run's settings or split change), then compared experiment by experiment in
/// a markdown report: each side's values, mean ± std, the difference with its 95 % interval, and Welch's t-test.
/// </summary>
public sealed class RunTwins : Microsoft.Build.Utilities.Task
{
    /// <summary>The selected runs (ReadExperiments' output, every seed), already run by Repro.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The PyTorch side: scripts/twin.py.</summary>
    [Required]
    public string Script { get; set; } = "";

    /// <summary>The Python with torch and torchvision (Debian's /usr/bin/python3 by default).</summary>
    [Required]
    public string Python { get; set; } = "";

    /// <summary>The markdown report to write, e.g. docs/validation.md.</summary>
    [Required]
    public string ReportFile { get; set; } = "";

    /// <summary>Significance level of the verdict.</summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>Optional markdown appended to the report as written (an analysis of the tables, e.g.
    /// docs/validation-transfer-notes.md for the transfer twin's bug study); empty for none.</summary>
    public string NotesFile { get; set; } = "";

    public override bool Execute()
    {
        var rows = new List<(string Experiment, ulong Seed, ExperimentResult Repro, JsonElement Torch)>();
        foreach (var item in Experiments)
        {
            string dir = item.GetMetadata("OutputDirectory");
            ulong seed = WriteResults.Seed(item);
            if (ExperimentResult.FromOutput(dir, "", seed) is not { } repro)
            {
                Log.LogError("Repro", ErrorCodes.NoResultForTwin, null, item.GetMetadata("ConfigFile"), 0, 0, 0, 0, $"{item.ItemSpec}: no Repro result in {dir}");
                continue;
            }
            if (PyTorch(item, dir, seed) is { } torch)
                rows.Add((WriteResults.ExperimentName(item), seed, repro, torch));
        }
        if (Log.HasLoggedErrors)
            return false;
        AtomicFile.WriteIfChanged(ReportFile, Report(rows));
        Log.LogMessage(MessageImportance.High, $"Repro: twin comparison written to {ReportFile}");
        return true;
    }

    /// <summary>The PyTorch result of one run: cached pytorch.json when its key (train stamp + split manifest) still holds, else a fresh run.</summary>
    private JsonElement? PyTorch(ITaskItem item, string dir, ulong seed)
    {
        var run = ExperimentLayout.ForRun(dir);
        string cache = run.TwinResult;
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            File.ReadAllText(run.TrainStamp) + File.ReadAllText(run.SplitManifest) + File.ReadAllText(Script))))[..16];
        if (File.Exists(cache))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(cache));
            if (doc.RootElement.TryGetProperty("key", out var k) && k.GetString() == key)
                return doc.RootElement.Clone();
        }
        Log.LogMessage(MessageImportance.High, $"Repro: {item.ItemSpec}: PyTorch twin");
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Script, "--run", dir, "--config-dir", Path.GetDirectoryName(item.GetMetadata("ConfigFile"))!, "--seed", seed.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
        if (process.ExitCode != 0 || !last.StartsWith('{'))
        {
            string why = ProcessSignals.Describe(process.ExitCode) is { } signal ? $"killed by {signal}" : $"exit code {process.ExitCode}";
            Log.LogError("Repro", ErrorCodes.TwinFailed, null, Script, 0, 0, 0, 0, $"{item.ItemSpec}: the PyTorch twin failed ({why}): {stderr.Result.Trim()}");
            return null;
        }
        using var result = JsonDocument.Parse(last);
        var withKey = new Dictionary<string, JsonElement>(result.RootElement.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.Clone())))
        {
            ["key"] = JsonDocument.Parse($"\"{key}\"").RootElement.Clone(),
        };
        string text = JsonSerializer.Serialize(withKey, new JsonSerializerOptions { WriteIndented = true }) + "\n";
        AtomicFile.WriteIfChanged(cache, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private string Report(List<(string Experiment, ulong Seed, ExperimentResult Repro, JsonElement Torch)> rows)
    {
        var md = new StringBuilder();
        md.Append("# Validation: Repro against PyTorch, recipe by recipe\n\n");
        md.Append("Each experiment below ran in Repro (TorchSharp) and in PyTorch + torchvision (`scripts/twin.py`) on the same data files, the same ");
        md.Append("split manifest and the same recipe, once per seed. The two sides draw their random numbers from different generators, so they ");
        md.Append("agree only in distribution: the comparison is Welch's t-test on the per-seed test metrics, with the 95 % interval of the ");
        md.Append(CultureInfo.InvariantCulture, $"difference of the means (Repro − PyTorch). Verdict at α = {Alpha}: \"indistinguishable at {Alpha * 100:0} %\" or \"differs\".\n\n");
        var torchVersions = rows.Select(r => $"PyTorch {Text(r.Torch, "torch")}, torchvision {Text(r.Torch, "torchvision")}").Distinct();
        var platforms = rows.Select(r => r.Repro.Platform.Describe()).Distinct();
        md.Append(CultureInfo.InvariantCulture, $"Repro numerics platform: {string.Join("; ", platforms)}. Python side: {string.Join("; ", torchVersions)}.\n\n");
        md.Append("Regenerate: `dotnet build -t:TwinExperiments -p:Experiment=<name or tag>` (PyTorch results are cached per run as `pytorch.json`).\n");
        // One line per experiment first, so that recipes differing in one setting (the tutorial-faithful switches, say) read side by side.
        md.Append("\n## Summary: test accuracy\n\n| experiment | seeds | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | Welch p | verdict |\n|---|---|---|---|---|---|---|\n");
        foreach (var group in rows.GroupBy(r => r.Experiment))
        {
            var a = SeedStatistics.Of([.. group.Select(r => r.Repro.Value("accuracy")).OfType<double>()]);
            var b = SeedStatistics.Of([.. group.Select(r => Number(r.Torch, "accuracy"))]);
            var (diff, low, high, p) = Welch(a, b);
            md.Append(CultureInfo.InvariantCulture,
                $"| {group.Key} | {group.Count()} | {WriteResults.Spread("accuracy", a)} | {WriteResults.Spread("accuracy", b)} | {Delta("accuracy", diff)} [{Delta("accuracy", low)}, {Delta("accuracy", high)}] | {p:0.000} | {Verdict(p)} |\n");
        }
        foreach (var group in rows.GroupBy(r => r.Experiment))
        {
            var runs = group.OrderBy(r => r.Seed).ToList();
            md.Append(CultureInfo.InvariantCulture, $"\n## {group.Key}\n\n");
            md.Append(CultureInfo.InvariantCulture, $"{runs[0].Repro.Dataset}, {runs[0].Repro.Model}, {runs[0].Repro.Epochs} epochs; seeds {string.Join(", ", runs.Select(r => r.Seed))}.\n\n");
            md.Append("| metric | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | Welch p | verdict |\n|---|---|---|---|---|---|\n");
            foreach (var metric in ExperimentResult.SpreadMetricNames)
            {
                var a = SeedStatistics.Of([.. runs.Select(r => r.Repro.Value(metric)).OfType<double>()]);
                var b = SeedStatistics.Of([.. runs.Select(r => Number(r.Torch, metric))]);
                var (diff, low, high, p) = Welch(a, b);
                string verdict = Verdict(p);
                md.Append(CultureInfo.InvariantCulture,
                    $"| {WriteResults.Label(metric)} | {WriteResults.Spread(metric, a)} | {WriteResults.Spread(metric, b)} | {Delta(metric, diff)} [{Delta(metric, low)}, {Delta(metric, high)}] | {p:0.000} | {verdict} |\n");
            }
            md.Append("\n| seed | Repro accuracy | PyTorch accuracy | Repro loss | PyTorch loss | Repro macro F1 | PyTorch macro F1 |\n|---|---|---|---|---|---|---|\n");
            foreach (var r in runs)
                md.Append(CultureInfo.InvariantCulture,
                    $"| {r.Seed} | {WriteResults.Format("accuracy", r.Repro.Value("accuracy"))} | {WriteResults.Format("accuracy", Number(r.Torch, "accuracy"))} " +
                    $"| {WriteResults.Format("loss", r.Repro.Value("loss"))} | {WriteResults.Format("loss", Number(r.Torch, "loss"))} " +
                    $"| {WriteResults.Format("macro_f1", r.Repro.Value("macro_f1"))} | {WriteResults.Format("macro_f1", Number(r.Torch, "macro_f1"))} |\n");
        }
        if (NotesFile.Length > 0)
            md.Append('\n').Append(File.ReadAllText(NotesFile).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd()).Append('\n');
        return md.ToString();
    }

    private string Verdict(double p) =>
        double.IsNaN(p) ? "too few seeds" : p < Alpha ? "differs" : string.Create(CultureInfo.InvariantCulture, $"indistinguishable at {Alpha * 100:0} %");

    /// <summary>Welch's unequal-variance t-test: difference of means, its 95 % interval (Welch–Satterthwaite df), two-sided p.</summary>
    internal static (double Difference, double Low, double High, double P) Welch(SeedStatistics a, SeedStatistics b)
    {
        double diff = a.Mean - b.Mean;
        if (a.N < 2 || b.N < 2)
            return (diff, double.NaN, double.NaN, double.NaN);
        double va = a.Std * a.Std / a.N, vb = b.Std * b.Std / b.N, se = Math.Sqrt(va + vb);
        if (se == 0)
            return (diff, diff, diff, diff == 0 ? 1 : 0);
        double df = (va + vb) * (va + vb) / (va * va / (a.N - 1) + vb * vb / (b.N - 1));
        double t = diff / se;
        double p = 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t)));
        double q = StudentT.InvCDF(0, 1, df, 0.975);
        return (diff, diff - q * se, diff + q * se, p);
    }

    private static string Delta(string metric, double d) =>
        double.IsNaN(d) ? "—"
        : metric.EndsWith("accuracy", StringComparison.Ordinal) ? (d * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp"
        : d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture);

    private static double Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    private static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ToString() : "?";
}
