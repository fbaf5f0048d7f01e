using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// After the stages: locks the selected experiments' results in the committed lock file (entries of
/// experiments not selected keep their previous entry; the file is rewritten only when its content changes)
/// and writes results.md, one table of the selection beside the tutorial's own figures.
/// </summary>
public sealed class WriteResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The selected experiments (ReadExperiments' output), with their OutputDirectory metadata.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The lock file, e.g. results/experiments.lock.json beside experiments.yaml.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The markdown table to write, e.g. artifacts/results.md.</summary>
    [Required]
    public string ReportFile { get; set; } = "";

    /// <summary>The fingerprint of the source code that produced the results (see <see cref="CodeFingerprint"/>).</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    public override bool Execute()
    {
        var locked = ExperimentResult.ReadLock(File.Exists(LockFile) ? File.ReadAllText(LockFile) : null);
        var rows = new List<(ExperimentResult Result, ITaskItem Item)>();
        foreach (var item in Experiments)
        {
            string dir = item.GetMetadata("OutputDirectory");
            if (ExperimentResult.FromOutput(dir, CodeFingerprint) is not { } result)
            {
                Log.LogError("Repro", "REPRO300", null, item.GetMetadata("ConfigFile"), ParseLine(item), 0, 0, 0,
                    $"experiment '{item.ItemSpec}' has no complete result in {dir} (metrics.json missing)");
                continue;
            }
            locked[result.Name] = result;
            rows.Add((result, item));
        }
        if (Log.HasLoggedErrors)
            return false;

        if (WriteIfChanged(LockFile, ExperimentResult.WriteLock(locked.Values)))
            Log.LogMessage(MessageImportance.High, $"Repro: updated {LockFile}");
        WriteIfChanged(ReportFile, Table(rows));
        return !Log.HasLoggedErrors;
    }

    private static int ParseLine(ITaskItem item) =>
        int.TryParse(item.GetMetadata("Line"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int line) ? line : 0;

    private static string Table(List<(ExperimentResult Result, ITaskItem Item)> rows)
    {
        var md = new StringBuilder();
        md.Append("# Results\n\n");
        md.Append("| experiment | dataset | model | pretrained | frozen | test accuracy | tutorial | epochs | train time |\n");
        md.Append("|---|---|---|---|---|---|---|---|---|\n");
        foreach (var (r, item) in rows)
        {
            var tutorial = TutorialFigure.Find(item.GetMetadata("Tutorial"));
            double? seconds = ExperimentResult.TrainSeconds(item.GetMetadata("OutputDirectory"));
            md.Append(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Dataset} | {r.Model} | {(r.Pretrained.Length == 0 ? "no" : r.Pretrained)} | {(r.Freeze == "backbone" ? "backbone" : "no")} " +
                $"| {ExperimentResult.Display("accuracy", r.Metrics.GetValueOrDefault("accuracy"))} " +
                $"| {(tutorial is null ? "" : $"{tutorial.TestAccuracy * 100:F2}%")} | {r.Epochs} " +
                $"| {(seconds is { } s ? TimeSpan.FromSeconds(Math.Round(s)).ToString("c", CultureInfo.InvariantCulture) : "")} |\n");
        }
        return md.ToString();
    }

    /// <summary>Writes through a temporary file, and only when the content differs, so that the timestamp means "changed".</summary>
    internal static bool WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
            return false;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = path + ".tmp";
        File.WriteAllText(temp, content, new UTF8Encoding(false));
        File.Move(temp, path, overwrite: true);
        return true;
    }
}
