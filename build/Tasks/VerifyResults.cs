using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;

namespace Repro.Build.Tasks;

/// <summary>
/// Compares experiments re-run from scratch with the lock file: on CPU every locked number must be equal
/// (LibTorch on CPU with fixed threads is deterministic); on CUDA accuracy and loss may differ within the stated
/// tolerances. Fails with a markdown table of what differs.
/// </summary>
public sealed class VerifyResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The re-run experiments, with their (scratch) OutputDirectory metadata.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The committed lock file.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The current code fingerprint; a lock made from other code is reported, not failed, when its numbers still match.</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    /// <summary>CUDA only: largest allowed absolute difference of accuracies (fractions, e.g. 0.01).</summary>
    public string CudaAccuracyTolerance { get; set; } = "0.01";

    /// <summary>CUDA only: largest allowed relative difference of the test loss (e.g. 0.05).</summary>
    public string CudaLossTolerance { get; set; } = "0.05";

    public override bool Execute()
    {
        if (!File.Exists(LockFile))
        {
            Log.LogError("Repro", "REPRO310", null, LockFile, 0, 0, 0, 0, "no lock file: run 'dotnet build -t:RunExperiments' and commit it");
            return false;
        }
        double accuracyTolerance = double.Parse(CudaAccuracyTolerance, CultureInfo.InvariantCulture);
        double lossTolerance = double.Parse(CudaLossTolerance, CultureInfo.InvariantCulture);
        var locked = ExperimentResult.ReadLock(File.ReadAllText(LockFile));
        var differences = new List<string>();
        foreach (var item in Experiments)
        {
            string name = item.ItemSpec;
            if (!locked.TryGetValue(name, out var expected))
            {
                differences.Add($"| {name} | (locked) | — | not in the lock file | |");
                continue;
            }
            if (ExperimentResult.FromOutput(item.GetMetadata("OutputDirectory"), CodeFingerprint) is not { } actual)
            {
                differences.Add($"| {name} | (result) | — | no metrics.json | |");
                continue;
            }
            // Different settings or data make the locked numbers incomparable: the lock is stale.
            foreach (var fp in new[] { "split", "train", "test", "data" })
                if (expected.Fingerprints.GetValueOrDefault(fp) != actual.Fingerprints.GetValueOrDefault(fp))
                    differences.Add($"| {name} | {fp} fingerprint | {expected.Fingerprints.GetValueOrDefault(fp)} | {actual.Fingerprints.GetValueOrDefault(fp)} | lock is stale |");
            bool cuda = actual.Device is "cuda" or "auto";
            foreach (var metric in ExperimentResult.MetricNames)
            {
                string? want = expected.Metrics.GetValueOrDefault(metric);
                string? got = actual.Metrics.GetValueOrDefault(metric);
                if (want == got)
                    continue;
                string tolerance = "exact (CPU)";
                if (cuda && want is not null && got is not null && Tolerance(metric, accuracyTolerance, lossTolerance) is { } allowed)
                {
                    double w = double.Parse(want, CultureInfo.InvariantCulture), g = double.Parse(got, CultureInfo.InvariantCulture);
                    double delta = metric == "loss" ? Math.Abs(g - w) / Math.Max(Math.Abs(w), 1e-12) : Math.Abs(g - w);
                    if (delta <= allowed)
                        continue;
                    tolerance = $"±{allowed.ToString(CultureInfo.InvariantCulture)}{(metric == "loss" ? " relative" : "")} (CUDA)";
                }
                else if (cuda && metric is "correct" or "macro_f1")
                {
                    continue; // implied by accuracy on CUDA, whose tolerance already covers them
                }
                differences.Add($"| {name} | {metric} | {ExperimentResult.Display(metric, want)} | {ExperimentResult.Display(metric, got)} | {tolerance} |");
            }
            if (expected.Fingerprints.GetValueOrDefault("code") != CodeFingerprint)
                Log.LogMessage(MessageImportance.High, $"Repro: {name}: locked with code {expected.Fingerprints.GetValueOrDefault("code")}, now {CodeFingerprint} (numbers compared anyway)");
        }
        if (differences.Count == 0)
        {
            Log.LogMessage(MessageImportance.High, $"Repro: verified {Experiments.Length} experiment(s) against {LockFile}: identical");
            return true;
        }
        var table = new StringBuilder("| experiment | what | locked | re-run | allowed |\n|---|---|---|---|---|\n");
        foreach (var d in differences)
            table.Append(d).Append('\n');
        Log.LogError("Repro", "REPRO311", null, LockFile, 0, 0, 0, 0,
            $"re-running differs from the locked results:\n{table}");
        return false;
    }

    private static double? Tolerance(string metric, double accuracy, double loss) => metric switch
    {
        "accuracy" or "top5_accuracy" => accuracy,
        "loss" => loss,
        _ => null,
    };
}
