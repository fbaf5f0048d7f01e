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
/// a markdown report: each side's values, mean ± std, the difference with its 95 % interval, Welch's t-test and an
/// equivalence test (TOST) within a margin on accuracy.
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
        var rows = new List<TwinRow>();
        foreach (var item in Experiments)
        {
            if (ResultReader.Require(Log, item) is not { } repro)
                continue;
            if (PyTorch(item, repro) is { } torch)
                rows.Add(new TwinRow(repro, torch));
        }
        if (Log.HasLoggedErrors)
            return false;
        var report = new TwinReport(Alpha, EquivalenceMargin)
        {
            Commit = Commit,
            RegenerateCommand = RegenerateCommand,
            Parity = ParityFile.Length > 0 ? File.ReadAllText(ParityFile) : "",
            Notes = NotesFile.Length > 0 ? File.ReadAllText(NotesFile) : "",
        };
        AtomicFile.WriteIfChanged(ReportFile, report.Render(rows));
        Log.LogMessage(MessageImportance.High, $"Repro: twin comparison written to {ReportFile}");
        return true;
    }

    /// <summary>The PyTorch result of one run: cached pytorch.json when its key (train stamp + split manifest) still holds, else a fresh run.</summary>
    private JsonElement? PyTorch(ITaskItem item, RunResult repro)
    {
        var run = repro.Run.Layout;
        string dir = run.Directory;
        ulong seed = repro.Seed;
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
        foreach (var arg in new[] { Script, "--run", dir, "--config-dir", repro.Run.BaseDirectory, "--seed", seed.ToString(CultureInfo.InvariantCulture) })
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
}
