using System.Globalization;
using System.Text;
using Microsoft.Build.Framework;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// What VerifyExperiments can detect on a platform the lock does not hold, before anything runs: per selected
/// experiment and per number of re-run seeds k (-p:ReproVerifySeeds=k), the smallest shift of each spread metric's mean
/// found with 80 % power at 1 % false alarms (<see cref="SeedStatistics"/>), from the seeds the lock holds. A team
/// reads off the k that buys the power it needs; the cost is k runs of each experiment.
/// </summary>
public sealed class PlanVerification : Microsoft.Build.Utilities.Task
{
    /// <summary>The selected runs (ReadExperiments' output); only their experiment names are used.</summary>
    [Required]
    public ITaskItem[] Experiments { get; set; } = [];

    /// <summary>The committed lock file.</summary>
    [Required]
    public string LockFile { get; set; } = "";

    /// <summary>Where to write the table as well (markdown).</summary>
    [Required]
    public string PlanFile { get; set; } = "";

    public override bool Execute()
    {
        if (!File.Exists(LockFile))
        {
            Log.LogError("Repro", ErrorCodes.NoLockFile, null, LockFile, 0, 0, 0, 0, "no lock file: run 'dotnet build -t:RunExperiments' and commit it");
            return false;
        }
        var locked = ResultsLock.Read(File.ReadAllText(LockFile));
        var names = Experiments.Select(i => i.GetMetadata("Experiment") is { Length: > 0 } n ? n : i.ItemSpec).Distinct(StringComparer.Ordinal);
        string table = Table([.. names.Select(n => locked.GetValueOrDefault(n)).OfType<LockEntry>()]);
        AtomicFile.WriteIfChanged(PlanFile, table);
        foreach (var line in table.TrimEnd('\n').Split('\n'))
            Log.LogMessage(MessageImportance.High, line);
        return !Log.HasLoggedErrors;
    }

    /// <summary>The table: one row per experiment and k, the smallest detectable shift of each spread metric.</summary>
    internal static string Table(IReadOnlyList<LockEntry> entries)
    {
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture,
            $"| experiment | locked seeds (platform) | re-run seeds k | check | smallest shift detected ({SeedStatistics.Power * 100:0} % power, {SeedStatistics.FalseAlarmRate * 100:0} % false alarms): {string.Join(", ", Metric.Spread.Select(m => m.Label))} |\n|---|---|---|---|---|\n");
        foreach (var entry in entries)
        {
            if (entry.Distribution() is not { } distribution || distribution.Seeds.Count < SeedStatistics.MinimumSeeds)
            {
                md.Append(CultureInfo.InvariantCulture, $"| {entry.Name} | {entry.Distribution()?.Seeds.Count ?? 0} | — | none: too few seeds (at least {SeedStatistics.MinimumSeeds}) | — |\n");
                continue;
            }
            var stats = Metric.Spread.Select(m => (Metric: m, Stats: distribution.Statistics(m))).ToList();
            for (int k = 1; k <= distribution.Seeds.Count; k++)
            {
                string check = k == 1 ? "99 % prediction band" : "Welch's test";
                string shifts = string.Join(", ", stats.Select(s => s.Metric.FormatSize(k == 1 ? s.Stats.BandDetectableShift : s.Stats.WelchDetectableShift(k))));
                md.Append(CultureInfo.InvariantCulture, $"| {entry.Name} | {distribution.Seeds.Count} ({distribution.Platform.Id}) | {k} | {check} | {shifts} |\n");
            }
        }
        return md.ToString();
    }
}
