using System.Text.Json;
using System.Text.RegularExpressions;
using Repro.Core.Engine;
using static TorchSharp.torch;

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
        string metrics = PlatformJsonObject().Replace(File.ReadAllText(run.Runner.Layout.Metrics),
            block => PlatformJsonValue().Replace(block.Value, m => SameOnEveryMachine.Contains(m.Groups[1].Value) ? m.Value : $"\"{m.Groups[1].Value}\": \"{{{m.Groups[1].Value}}}\""));
        // The layout that ran is the CPU's call (InputFormatTests pin it), as in report.md.
        metrics = LayoutJsonValue().Replace(metrics, "\"layout\": \"{layout}\"");

        Snapshot.VerifyNumbersOnPlatform(metrics, RunPlatform);
    }

    /// <summary>The numerics platform the tiny run computed on (its metrics.json says).</summary>
    private string RunPlatform
    {
        get
        {
            using var metrics = JsonDocument.Parse(File.ReadAllText(run.Runner.Layout.Metrics));
            return metrics.RootElement.GetProperty("platform").GetProperty("id").GetString()!;
        }
    }

    [Fact]
    public void MetricsJson_TinyExperiment_PlatformIsThisMachines()
    {
        using var metrics = JsonDocument.Parse(File.ReadAllText(run.Runner.Layout.Metrics));
        var platform = metrics.RootElement.GetProperty("platform");
        Assert.Equal("1", platform.GetProperty("threads").GetString()); // the tiny experiment's `threads: 1`

        TorchRuntime.Configure(1, CPU, tf32: true);

        Assert.Equal(NumericsPlatform.Current(CPU).Id, platform.GetProperty("id").GetString());
    }

    [Fact]
    public void ReportMd_TinyExperiment_MatchesSnapshotWithMachineDetailsScrubbed()
    {
        string report = File.ReadAllText(run.Runner.Layout.Report).Replace(run.Tiny.Directory, "{dir}", StringComparison.Ordinal);

        report = Commit().Replace(report, "git commit `{commit}`");
        report = DeviceLine().Replace(report, "- Device: {device}, $1, {os}");
        report = DurationsLine().Replace(report, "- Durations: {durations}");
        report = MemoryLine().Replace(report, "- Resident memory after each epoch: {mb}");
        // The layout that ran is the CPU's call (channels-last is refused where CPUID hides the caches); its own tests
        // (InputFormatTests) pin the choice, so the snapshot does not lock one CPU's.
        report = LayoutInNumericsLine().Replace(report, "- Numerics: $1, {layout},");
        report = PlatformId().Replace(report, "Numerics platform `{id}`");
        report = LayoutRowLine().Replace(report, "Layout on this platform: {layout table row}");
        report = PlatformRow().Replace(report, m => SameOnEveryMachine.Contains(m.Groups[1].Value) ? m.Value : $"| `{m.Groups[1].Value}` | {{{m.Groups[1].Value}}} |");

        Snapshot.VerifyNumbersOnPlatform(report, RunPlatform);
    }

    [Fact]
    public void HistoryCsv_TinyExperiment_OneRowPerEpochWithTimingsAndMemory()
    {
        var lines = File.ReadAllLines(run.Runner.Layout.History);

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

    [GeneratedRegex("\"layout\": \"[a-z-]+\"")]
    private static partial Regex LayoutJsonValue();

    [GeneratedRegex("- Numerics: (float32|bfloat16)(, channels-last)?,")]
    private static partial Regex LayoutInNumericsLine();

    [GeneratedRegex("- Resident memory after each epoch: .*")]
    private static partial Regex MemoryLine();

    // The numerics platform's keys always stay (a field added or dropped shows as a diff); its values are scrubbed
    // to {key} except those that follow from the packages and the experiment rather than from the machine.
    private static readonly HashSet<string> SameOnEveryMachine = ["torchsharp", "libtorch", "onednn_version", "onednn_allow_tf32", "threads", "device"];

    // The row is the platform's (LayoutTableTests pin each row); the line's presence is what the snapshot keeps.
    [GeneratedRegex("Layout on this platform: .*")]
    private static partial Regex LayoutRowLine();

    [GeneratedRegex("Numerics platform `[0-9a-f]{16}`")]
    private static partial Regex PlatformId();

    [GeneratedRegex("^\\| `(\\w+)` \\| .* \\|$", RegexOptions.Multiline)]
    private static partial Regex PlatformRow();

    [GeneratedRegex("\"platform\": \\{[^}]*\\}")]
    private static partial Regex PlatformJsonObject();

    [GeneratedRegex("\"(\\w+)\": \"[^\"\\n]*\"")]
    private static partial Regex PlatformJsonValue();
}
