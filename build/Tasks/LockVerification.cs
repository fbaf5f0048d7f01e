using System.Globalization;
using System.Text;
using Repro.Config;

namespace Repro.Build.Tasks;

/// <summary>What <see cref="LockVerification"/> found: lines to show, errors, and rows of the differences table.</summary>
internal sealed class VerificationReport
{
    public List<string> Messages { get; } = [];

    public List<(string Code, string Text)> Errors { get; } = [];

    /// <summary>Rows of "| run | check | what | locked | re-run | allowed |".</summary>
    public List<string> Differences { get; } = [];

    /// <summary>The kinds of check that ran: bitwise and/or statistical.</summary>
    public SortedSet<string> Kinds { get; } = new(StringComparer.Ordinal);

    public string CheckKinds => string.Join("+", Kinds);

    public string DifferencesTable()
    {
        var table = new StringBuilder("| run | check | what | locked | re-run | allowed |\n|---|---|---|---|---|---|\n");
        foreach (var d in Differences)
            table.Append(d).Append('\n');
        return table.ToString();
    }
}

/// <param name="Code">The current code fingerprint: a lock made from other code is reported, not failed, when its numbers still match.</param>
/// <param name="CudaAccuracyTolerance">CUDA only: largest allowed absolute difference of accuracies (fractions).</param>
/// <param name="CudaLossTolerance">CUDA only: largest allowed relative difference of the test loss.</param>
internal sealed record VerificationOptions(string Code, double CudaAccuracyTolerance = 0.01, double CudaLossTolerance = 0.05);

/// <summary>
/// VerifyExperiments' judgement of runs re-run from scratch against the lock, in three steps per run:
/// <list type="number">
/// <item>Bitwise on the run's own platform when the lock recorded it for that seed: every locked number equal on the
/// CPU (LibTorch with fixed threads is deterministic per platform), within the stated tolerances on CUDA.</item>
/// <item>Bitwise against any other platform's bytes for that seed: two platform ids that really compute alike (a CPU
/// whose only difference is a field the id hashes) are found alike instead of assumed different.</item>
/// <item>Otherwise statistical, against the seed distribution the lock holds (the platform with the most seeds): one
/// re-run seed must fall in the 99 % prediction band; k ≥ 2 re-run seeds are compared by Welch's test of the means at
/// the same false-alarm rate. Either way the output states the smallest shift the check detects with 80 % power.</item>
/// </list>
/// A foreign platform without a distribution of at least <see cref="SeedStatistics.MinimumSeeds"/> seeds is an error,
/// never a pass; a lock whose settings or data differ from the re-run's is stale.
/// </summary>
internal sealed class LockVerification(IReadOnlyDictionary<string, LockEntry> locked, VerificationOptions options)
{
    private readonly VerificationReport report = new();

    public VerificationReport Check(IReadOnlyList<RunResult> runs, string lockFile)
    {
        var foreign = new List<RunResult>();
        foreach (var run in runs)
        {
            if (Comparable(run) is not { } entry)
                continue;
            if (entry.Code != options.Code)
                report.Messages.Add($"{run.Run.Name}: locked with code {entry.Code}, now {options.Code} (numbers compared anyway)");
            if (entry.Platforms.TryGetValue(run.Platform.Id, out var own) && own.Seeds.TryGetValue(run.Seed, out var expected))
                OwnPlatform(run, expected);
            else if (entry.IdenticalOn(run.Seed, run.RawMetrics).FirstOrDefault() is { } twin)
            {
                report.Kinds.Add("bitwise");
                report.Messages.Add($"{run.Run.Name}: bitwise: identical to platform {twin.Platform.Id}'s results ({twin.Platform.Describe()}); " +
                    $"this machine's numerics platform {run.Platform.Id} is not in the lock, but computes the same bytes");
            }
            else
                foreign.Add(run);
        }
        foreach (var group in foreign.GroupBy(r => r.Name))
            Statistical([.. group.OrderBy(r => r.Seed)], locked[group.Key], lockFile);
        return report;
    }

    /// <summary>The lock entry the run can be compared with; null (with a difference row) when there is none or it is stale.</summary>
    private LockEntry? Comparable(RunResult run)
    {
        string name = run.Run.Name;
        if (!locked.TryGetValue(run.Name, out var entry))
        {
            report.Differences.Add($"| {name} | — | (locked) | — | not in the lock file | |");
            return null;
        }
        if (!entry.Seeds.TryGetValue(run.Seed, out var stamps))
        {
            report.Differences.Add($"| {name} | — | seed | seeds {string.Join(", ", entry.Seeds.Keys)} | {run.Seed} | lock is stale |");
            return null;
        }
        // Different settings or data make the locked numbers incomparable: the lock is stale.
        var actual = run.StageFingerprints;
        int before = report.Differences.Count;
        foreach (var stage in LockEntry.StampNames.Where(s => stamps.GetValueOrDefault(s) != actual[s]))
            report.Differences.Add($"| {name} | — | {stage} fingerprint | {stamps.GetValueOrDefault(stage)} | {actual[stage]} | lock is stale |");
        if (entry.Data != run.Data)
            report.Differences.Add($"| {name} | — | data fingerprint | {entry.Data} | {run.Data} | lock is stale |");
        return report.Differences.Count == before ? entry : null;
    }

    /// <summary>Same platform: every locked number equal (CUDA: accuracy and loss within the tolerances).</summary>
    private void OwnPlatform(RunResult run, IReadOnlyDictionary<string, string> expected)
    {
        report.Kinds.Add("bitwise");
        int before = report.Differences.Count;
        bool cuda = run.Platform.IsCuda;
        foreach (var metric in Metric.All)
        {
            string? want = expected.GetValueOrDefault(metric.Key), got = run.Raw(metric);
            if (want == got)
                continue;
            string tolerance = "exact (bitwise)";
            if (cuda && want is not null && got is not null && CudaTolerance(metric) is { } allowed)
            {
                double w = double.Parse(want, CultureInfo.InvariantCulture), g = double.Parse(got, CultureInfo.InvariantCulture);
                double delta = metric == Metric.Loss ? Math.Abs(g - w) / Math.Max(Math.Abs(w), 1e-12) : Math.Abs(g - w);
                if (delta <= allowed)
                    continue;
                tolerance = $"±{allowed.ToString(CultureInfo.InvariantCulture)}{(metric == Metric.Loss ? " relative" : "")} (CUDA)";
            }
            else if (cuda && (metric == Metric.Correct || metric == Metric.MacroF1))
            {
                continue; // implied by accuracy on CUDA, whose tolerance already covers them
            }
            report.Differences.Add($"| {run.Run.Name} | bitwise | {metric.Key} | {metric.Display(want)} | {metric.Display(got)} | {tolerance} |");
        }
        report.Messages.Add($"{run.Run.Name}: bitwise check on numerics platform {run.Platform.Id}, recorded in the lock: " +
            (report.Differences.Count == before ? "identical" : "DIFFERENT"));
    }

    private double? CudaTolerance(Metric metric) =>
        metric == Metric.Accuracy || metric == Metric.Top5Accuracy ? options.CudaAccuracyTolerance
        : metric == Metric.Loss ? options.CudaLossTolerance
        : null;

    /// <summary>Runs of one experiment on a platform the lock does not hold: against the locked seeds' distribution.</summary>
    private void Statistical(IReadOnlyList<RunResult> runs, LockEntry entry, string lockFile)
    {
        var distribution = entry.Distribution();
        if (distribution is null || distribution.Seeds.Count < SeedStatistics.MinimumSeeds)
        {
            string name = entry.Name;
            report.Errors.Add((ErrorCodes.TooFewLockedSeeds,
                $"{runs[0].Run.Name}: this machine's numerics platform {runs[0].Platform.Describe()} is not in the lock, and the lock holds " +
                $"{distribution?.Seeds.Count ?? 0} seed(s) of '{name}' (platform {distribution?.Platform.Id ?? "none"}): too few for a statistical check " +
                $"(at least {SeedStatistics.MinimumSeeds}). Either record this platform's exact results — `dotnet build -t:RunExperiments -p:Experiment={name} " +
                $"-p:ReproLockPlatform=add`, then commit {Path.GetFileName(lockFile)} — or give the experiment `seeds: 5` and lock it again (docs/reproducibility.md, \"Verify\")."));
            return;
        }
        report.Kinds.Add("statistical");
        // A platform recorded for its first seeds only (-p:ReproLockSeeds) is checked bitwise on those, statistically on the rest.
        string id = runs[0].Platform.Id;
        string why = entry.Platforms.TryGetValue(id, out var part)
            ? $"the lock holds this machine's numerics platform {id} for seed(s) {string.Join(", ", part.Seeds.Keys)} only"
            : $"this machine's numerics platform {id} is not in the lock";
        if (runs.Count == 1)
            Band(runs[0], distribution, why);
        else
            Welch(runs, distribution, why);
    }

    /// <summary>
    /// One re-run seed: each spread metric within max(prediction half-width, one test image) of the distribution's mean.
    /// The floor keeps a distribution whose seeds happen to agree from failing on a one-image difference.
    /// </summary>
    private void Band(RunResult run, PlatformResults distribution, string why)
    {
        double images = run.Value(Metric.Images) is { } n && n > 0 ? n : 1;
        var parts = new List<string>();
        var detectable = new List<string>();
        bool pass = true;
        foreach (var metric in Metric.Spread)
        {
            var stats = distribution.Statistics(metric);
            double? x = run.Value(metric);
            double half = Math.Max(stats.PredictionHalfWidth, 1 / images);
            bool inBand = x is { } v && Math.Abs(v - stats.Mean) <= half;
            pass &= inBand;
            string band = $"{metric.Format(stats.Mean - half)} – {metric.Format(stats.Mean + half)}";
            parts.Add($"{metric.Label} {metric.Format(x)} vs {metric.FormatSpread(stats.Mean, stats.Std, stats.N)} (band {band}): {(inBand ? "in band" : "OUT OF BAND")}");
            detectable.Add($"{metric.Label} {metric.FormatSize(stats.BandDetectableShift)}");
            if (!inBand)
                report.Differences.Add($"| {run.Run.Name} | statistical | {metric.Key} | {metric.FormatSpread(stats.Mean, stats.Std, stats.N)} (n = {stats.N}) | {metric.Format(x)} | {band} |");
        }
        report.Messages.Add(
            $"{run.Run.Name}: statistical check: {why}; compared with the {distribution.Seeds.Count} seeds " +
            $"locked on platform {distribution.Platform.Id}: {string.Join("; ", parts)}: {(pass ? "pass" : "FAIL")}");
        report.Messages.Add($"{run.Run.Name}: {DetectionSentence("one re-run seed in the 99 % prediction band", detectable)}");
    }

    /// <summary>k ≥ 2 re-run seeds: Welch's test of their mean against the distribution's, per spread metric, at the false-alarm rate.</summary>
    private void Welch(IReadOnlyList<RunResult> runs, PlatformResults distribution, string why)
    {
        string name = runs[0].Name;
        var parts = new List<string>();
        var detectable = new List<string>();
        bool pass = true;
        foreach (var metric in Metric.Spread)
        {
            var locked = distribution.Statistics(metric);
            var rerun = SeedStatistics.Of([.. runs.Select(r => r.Value(metric)).OfType<double>()]);
            var test = WelchTest.Of(rerun, locked, 1 - SeedStatistics.FalseAlarmRate);
            bool same = test.NoSpread || test.P >= SeedStatistics.FalseAlarmRate;
            pass &= same;
            string interval = test.NoSpread ? "" : $" [{metric.FormatDelta(test.Low, 4)}, {metric.FormatDelta(test.High, 4)}]";
            string p = double.IsNaN(test.P) ? "no spread" : test.P.ToString("0.0000", CultureInfo.InvariantCulture);
            parts.Add($"{metric.Label} {metric.FormatSpread(rerun.Mean, rerun.Std, rerun.N)} vs {metric.FormatSpread(locked.Mean, locked.Std, locked.N)}: " +
                $"difference {metric.FormatDelta(test.Difference, 4)}{interval}, p = {p}: {(same ? "consistent" : "DIFFERS")}");
            detectable.Add($"{metric.Label} {metric.FormatSize(locked.WelchDetectableShift(runs.Count))}");
            if (!same)
                report.Differences.Add($"| {name} ({runs.Count} seeds) | statistical (Welch) | {metric.Key} | {metric.FormatSpread(locked.Mean, locked.Std, locked.N)} (n = {locked.N}) " +
                    $"| {metric.FormatSpread(rerun.Mean, rerun.Std, rerun.N)} (n = {rerun.N}) | p ≥ {SeedStatistics.FalseAlarmRate.ToString(CultureInfo.InvariantCulture)} (p = {p}) |");
        }
        report.Messages.Add(
            $"{name}: statistical check (Welch's test, {runs.Count} re-run seeds: {string.Join(", ", runs.Select(r => r.Seed))}): {why}; compared with the {distribution.Seeds.Count} seeds locked on platform {distribution.Platform.Id}: " +
            $"{string.Join("; ", parts)}: {(pass ? "pass" : "FAIL")}");
        report.Messages.Add($"{name}: {DetectionSentence($"Welch's test of {runs.Count} re-run seeds at 99 % confidence", detectable)}");
    }

    private static string DetectionSentence(string check, IEnumerable<string> shifts) =>
        $"{check} detects a shift of the mean of at least {string.Join(", ", shifts)} with {SeedStatistics.Power * 100:0} % power " +
        $"({SeedStatistics.FalseAlarmRate * 100:0} % false alarms per metric); smaller shifts pass unseen. More re-run seeds " +
        "(-p:ReproVerifySeeds=k) or a lock recorded on this platform (bitwise) detect less (docs/reproducibility.md, \"Verify\")";
}
