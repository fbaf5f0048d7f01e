using System.Text.RegularExpressions;

namespace Repro.Core.Tests.Reports;

/// <summary>
/// report.md and metrics.json of the tiny deterministic experiment, locked: any change to what a run computes or
/// how it is reported shows as a diff. What legitimately differs between machines and runs is scrubbed.
/// </summary>
[Collection(TinyRunCollection.Name)]
public sealed partial class ReportSnapshotTests(TinyRunFixture run)
{
    [Fact]
    public void MetricsJson_TinyExperiment_MatchesSnapshot()
    {
        Snapshot.Verify(File.ReadAllText(run.Runner.Paths.Metrics));
    }

    [Fact]
    public void ReportMd_TinyExperiment_MatchesSnapshotWithMachineDetailsScrubbed()
    {
        string report = File.ReadAllText(run.Runner.Paths.Report).Replace(run.Tiny.Directory, "{dir}", StringComparison.Ordinal);

        report = Commit().Replace(report, "git commit `{commit}`");
        report = DeviceLine().Replace(report, "- Device: {device}, $1, {os}");
        report = DurationsLine().Replace(report, "- Durations: {durations}");
        report = MemoryLine().Replace(report, "- Resident memory after each epoch: {mb}");

        Snapshot.Verify(report);
    }

    [Fact]
    public void HistoryCsv_TinyExperiment_OneRowPerEpochWithTimingsAndMemory()
    {
        var lines = File.ReadAllLines(run.Runner.Paths.History);

        Assert.Equal("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,lr,seconds,images_per_second,rss_mb", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.True(double.Parse(l.Split(',')[^1], System.Globalization.CultureInfo.InvariantCulture) > 0, l));
    }

    [GeneratedRegex("git commit `[^`]*`( \\(working tree had uncommitted changes\\))?")]
    private static partial Regex Commit();

    [GeneratedRegex("- Device: .*, (\\d+ threads?), .*")]
    private static partial Regex DeviceLine();

    [GeneratedRegex("- Durations: .*")]
    private static partial Regex DurationsLine();

    [GeneratedRegex("- Resident memory after each epoch: .*")]
    private static partial Regex MemoryLine();
}
