using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
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

    /// <summary>Equivalence margin on test accuracy (a fraction: 0.015 = ±1.5 pp) for the TOST verdict; see <see cref="Equivalence"/>.</summary>
    public double EquivalenceMargin { get; set; } = 0.015;

    /// <summary>The commit the comparison was made at, as the report states it; empty: not stated.</summary>
    public string Commit { get; set; } = "";

    /// <summary>The command line that regenerates the report, as the report states it; empty: the generic one.</summary>
    public string RegenerateCommand { get; set; } = "";

    /// <summary>Optional markdown put after the summary: the deterministic checks (the host's <c>parity</c> command); empty for none.</summary>
    public string ParityFile { get; set; } = "";

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
        md.Append("agree only in distribution. Test accuracy is compared by the two one-sided tests (TOST) of equivalence within a margin ");
        md.Append(CultureInfo.InvariantCulture, $"of ±{Delta("accuracy", EquivalenceMargin).TrimStart('+')} (Welch's standard error; equivalent when the {100 - 200 * Alpha:0} % interval of the difference lies inside the margin), ");
        md.Append(CultureInfo.InvariantCulture, $"and by Welch's t-test (the 95 % interval of the difference Repro − PyTorch). Verdicts at α = {Alpha}: \"equivalent within ±m\" (TOST rejects), ");
        md.Append("else \"differs\" (Welch rejects), else \"not shown\". Loss and macro F1 have no margin: for them only \"differs\" or \"not shown\".\n\n");
        var torchVersions = rows.Select(r => $"PyTorch {Text(r.Torch, "torch")}, torchvision {Text(r.Torch, "torchvision")}").Distinct();
        var platforms = rows.Select(r => r.Repro.Platform.Describe()).Distinct();
        if (Commit.Length > 0)
            md.Append(CultureInfo.InvariantCulture, $"Made at commit {Commit}. ");
        md.Append(CultureInfo.InvariantCulture, $"Repro numerics platform: {string.Join("; ", platforms)}. Python side: {string.Join("; ", torchVersions)}.\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"Regenerate: `{(RegenerateCommand.Length > 0 ? RegenerateCommand : "dotnet build -t:TwinExperiments -p:Experiment=<name or tag>")}` (PyTorch results are cached per run as `pytorch.json`).\n");
        // One line per experiment first, so that recipes differing in one setting (the tutorial-faithful switches, say) read side by side.
        md.Append(CultureInfo.InvariantCulture,
            $"\n## Summary: test accuracy\n\n| experiment | seeds | Repro mean ± std | PyTorch mean ± std | difference [95 % interval] | [{100 - 200 * Alpha:0} % interval] | Welch p | TOST p | verdict |\n|---|---|---|---|---|---|---|---|---|\n");
        foreach (var group in rows.GroupBy(r => r.Experiment))
        {
            var a = SeedStatistics.Of([.. group.Select(r => r.Repro.Value("accuracy")).OfType<double>()]);
            var b = SeedStatistics.Of([.. group.Select(r => Number(r.Torch, "accuracy"))]);
            var e = Equivalence.Of(a, b, EquivalenceMargin, Alpha);
            var (low, high) = e.Interval(0.95);
            var (low90, high90) = e.Interval(1 - 2 * Alpha);
            md.Append(CultureInfo.InvariantCulture,
                $"| {group.Key} | {group.Count()} | {WriteResults.Spread("accuracy", a)} | {WriteResults.Spread("accuracy", b)} | {Delta("accuracy", e.Difference)} [{Delta("accuracy", low)}, {Delta("accuracy", high)}] | [{Delta("accuracy", low90)}, {Delta("accuracy", high90)}] | {e.WelchP:0.000} | {e.TostP:0.000} | {e.Verdict(m => Delta("accuracy", m).TrimStart('+'))} |\n");
        }
        if (ParityFile.Length > 0)
            md.Append('\n').Append(File.ReadAllText(ParityFile).Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd()).Append('\n');
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
                var e = Equivalence.Of(a, b, metric == "accuracy" ? EquivalenceMargin : 0, Alpha);
                var (low, high) = e.Interval(0.95);
                md.Append(CultureInfo.InvariantCulture,
                    $"| {WriteResults.Label(metric)} | {WriteResults.Spread(metric, a)} | {WriteResults.Spread(metric, b)} | {Delta(metric, e.Difference)} [{Delta(metric, low)}, {Delta(metric, high)}] | {e.WelchP:0.000} | {e.Verdict(m => Delta(metric, m).TrimStart('+'))} |\n");
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

    private static string Delta(string metric, double d) =>
        double.IsNaN(d) ? "—"
        : metric.EndsWith("accuracy", StringComparison.Ordinal) ? (d * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pp"
        : d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture);

    private static double Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    private static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.ToString() : "?";
}
