using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>
/// Compares runs re-run from scratch with the lock file. On a numerics platform the lock recorded for that seed the
/// check is bitwise: every locked number must be equal on CPU (LibTorch with fixed threads is deterministic per
/// platform), within the stated tolerances on CUDA. On another platform the check is statistical: each of accuracy,
/// loss and macro F1 must fall inside the prediction band of the seed distribution the lock holds (see
/// <see cref="SeedStatistics.PredictionHalfWidth"/>). A foreign platform without a distribution is an error, never a pass.
/// </summary>
public sealed class VerifyResults : Microsoft.Build.Utilities.Task
{
    /// <summary>The re-run runs (one per checked seed), with their (scratch) OutputDirectory, Experiment and Seed metadata.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The committed lock file.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>The current code fingerprint; a lock made from other code is reported, not failed, when its numbers still match.</summary>
    [Required]
    public string CodeFingerprint { get; set; } = "";

    /// <summary>CUDA only: largest allowed absolute difference of accuracies (fractions, e.g. 0.01).</summary>
    public double CudaAccuracyTolerance { get; set; } = 0.01;

    /// <summary>CUDA only: largest allowed relative difference of the test loss (e.g. 0.05).</summary>
    public double CudaLossTolerance { get; set; } = 0.05;

    /// <summary>"bitwise", "statistical" or "bitwise+statistical": the kinds of check that ran (for CI output).</summary>
    [Output]
    public string CheckKinds { get; private set; } = "";

    public override bool Execute()
    {
        if (!File.Exists(LockFile))
        {
            Log.LogError("Repro", ErrorCodes.NoLockFile, null, LockFile, 0, 0, 0, 0, "no lock file: run 'dotnet build -t:RunExperiments' and commit it");
            return false;
        }
        var locked = ResultsLock.Read(File.ReadAllText(LockFile));
        var differences = new List<string>();
        var kinds = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var item in Experiments)
        {
            string run = item.ItemSpec, name = WriteResults.ExperimentName(item);
            ulong seed = WriteResults.Seed(item);
            if (!locked.TryGetValue(name, out var entry))
            {
                differences.Add($"| {run} | — | (locked) | — | not in the lock file | |");
                continue;
            }
            if (ExperimentResult.FromOutput(item.GetMetadata("OutputDirectory"), CodeFingerprint, seed) is not { } actual)
            {
                differences.Add($"| {run} | — | (result) | — | no metrics.json | |");
                continue;
            }
            // Different settings or data make the locked numbers incomparable: the lock is stale.
            if (!entry.Seeds.TryGetValue(seed, out var stamps))
            {
                differences.Add($"| {run} | — | seed | seeds {string.Join(", ", entry.Seeds.Keys)} | {seed} | lock is stale |");
                continue;
            }
            bool stale = false;
            foreach (var fp in ExperimentResult.StampNames.Where(fp => stamps.GetValueOrDefault(fp) != actual.Fingerprints.GetValueOrDefault(fp)))
            {
                differences.Add($"| {run} | — | {fp} fingerprint | {stamps.GetValueOrDefault(fp)} | {actual.Fingerprints.GetValueOrDefault(fp)} | lock is stale |");
                stale = true;
            }
            if (entry.Data != actual.Fingerprints.GetValueOrDefault("data"))
            {
                differences.Add($"| {run} | — | data fingerprint | {entry.Data} | {actual.Fingerprints.GetValueOrDefault("data")} | lock is stale |");
                stale = true;
            }
            if (stale)
                continue;
            if (entry.Code != CodeFingerprint)
                Log.LogMessage(MessageImportance.High, $"Repro: {run}: locked with code {entry.Code}, now {CodeFingerprint} (numbers compared anyway)");

            if (entry.Platforms.TryGetValue(actual.Platform.Id, out var own) && own.Seeds.TryGetValue(seed, out var expected))
            {
                kinds.Add("bitwise");
                int before = differences.Count;
                Bitwise(run, actual, expected, differences);
                Log.LogMessage(MessageImportance.High,
                    $"Repro: {run}: bitwise check on numerics platform {actual.Platform.Id}, recorded in the lock: {(differences.Count == before ? "identical" : "DIFFERENT")}");
                continue;
            }
            var distribution = entry.Distribution();
            if (distribution is null || distribution.Seeds.Count < SeedStatistics.MinimumSeeds)
            {
                Log.LogError("Repro", ErrorCodes.TooFewLockedSeeds, null, LockFile, 0, 0, 0, 0,
                    $"{run}: this machine's numerics platform {actual.Platform.Describe()} is not in the lock, and the lock holds " +
                    $"{distribution?.Seeds.Count ?? 0} seed(s) of '{name}' (platform {distribution?.Platform.Id ?? "none"}): too few for a statistical check " +
                    $"(at least {SeedStatistics.MinimumSeeds}). Either record this platform's exact results — `dotnet build -t:RunExperiments -p:Experiment={name} " +
                    $"-p:ReproLockPlatform=add`, then commit {Path.GetFileName(LockFile)} — or give the experiment `seeds: 5` and lock it again (README, \"Verify\").");
                continue;
            }
            kinds.Add("statistical");
            Statistical(run, actual, distribution, differences);
        }
        CheckKinds = string.Join("+", kinds);
        // CI readers look for this line: which kind of reproducibility the run actually showed.
        Log.LogMessage(MessageImportance.High, $"Repro: VerifyExperiments check: {(kinds.Count == 0 ? "none" : CheckKinds)}");
        if (Log.HasLoggedErrors)
            return false;
        if (differences.Count == 0)
        {
            Log.LogMessage(MessageImportance.High, $"Repro: verified {Experiments.Length} run(s) against {LockFile} ({CheckKinds} check): all pass");
            return true;
        }
        var table = new StringBuilder("| run | check | what | locked | re-run | allowed |\n|---|---|---|---|---|---|\n");
        foreach (var d in differences)
            table.Append(d).Append('\n');
        Log.LogError("Repro", ErrorCodes.ResultsDiffer, null, LockFile, 0, 0, 0, 0, $"re-running differs from the locked results:\n{table}");
        return false;
    }

    /// <summary>Same platform: every locked number equal (CUDA: accuracy and loss within the tolerances).</summary>
    private void Bitwise(string run, ExperimentResult actual, IReadOnlyDictionary<string, string> expected, List<string> differences)
    {
        bool cuda = actual.Device is "cuda" or "auto";
        foreach (var metric in ExperimentResult.MetricNames)
        {
            string? want = expected.GetValueOrDefault(metric);
            string? got = actual.Metrics.GetValueOrDefault(metric);
            if (want == got)
                continue;
            string tolerance = "exact (bitwise)";
            if (cuda && want is not null && got is not null && Tolerance(metric) is { } allowed)
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
            differences.Add($"| {run} | bitwise | {metric} | {ExperimentResult.Display(metric, want)} | {ExperimentResult.Display(metric, got)} | {tolerance} |");
        }
    }

    /// <summary>
    /// Another platform: each spread metric within max(prediction half-width, one test image) of the distribution's
    /// mean. The floor keeps a distribution whose seeds happen to agree from failing on a one-image difference.
    /// </summary>
    private void Statistical(string run, ExperimentResult actual, PlatformResults distribution, List<string> differences)
    {
        double images = actual.Value("images") is { } n && n > 0 ? n : 1;
        var parts = new List<string>();
        bool pass = true;
        foreach (var metric in ExperimentResult.SpreadMetricNames)
        {
            var stats = distribution.Statistics(metric);
            double? x = actual.Value(metric);
            double half = Math.Max(stats.PredictionHalfWidth, 1 / images);
            bool inBand = x is { } v && Math.Abs(v - stats.Mean) <= half;
            pass &= inBand;
            string band = $"{WriteResults.Format(metric, stats.Mean - half)} – {WriteResults.Format(metric, stats.Mean + half)}";
            parts.Add($"{WriteResults.Label(metric)} {WriteResults.Format(metric, x)} vs {WriteResults.Spread(metric, stats)} (band {band}): {(inBand ? "in band" : "OUT OF BAND")}");
            if (!inBand)
                differences.Add($"| {run} | statistical | {metric} | {WriteResults.Spread(metric, stats)} (n = {stats.N}) | {WriteResults.Format(metric, x)} | {band} |");
        }
        Log.LogMessage(MessageImportance.High,
            $"Repro: {run}: statistical check: this machine's numerics platform {actual.Platform.Id} is not in the lock; compared with the {distribution.Seeds.Count} seeds " +
            $"locked on platform {distribution.Platform.Id}: {string.Join("; ", parts)}: {(pass ? "pass" : "FAIL")}");
    }

    private double? Tolerance(string metric) => metric switch
    {
        "accuracy" or "top5_accuracy" => CudaAccuracyTolerance,
        "loss" => CudaLossTolerance,
        _ => null,
    };
}
