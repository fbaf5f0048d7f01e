using System.Globalization;

namespace Repro.Build.Tasks.Tests;

public sealed class RunTwinsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("repro-twin-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Execute_TwoSeeds_RunsTheTwinOncePerRunCachesItAndWritesTheComparison()
    {
        string artifacts = Path.Combine(dir, "artifacts");
        var items = new[] { 1UL, 2UL }.Select(s =>
        {
            ResultFiles.WriteOutput(artifacts, "s", s == 1 ? "0.700000" : "0.720000", seed: s);
            File.WriteAllText(Path.Combine(artifacts, "experiments", "s", $"seed-{s}", "split.tsv"), "path\tlabel\tclass\tsplit\tsha256\n");
            var item = ResultFiles.Item(artifacts, "s", s);
            item.SetMetadata("ConfigFile", Path.Combine(dir, "experiments.yaml"));
            return (Microsoft.Build.Framework.ITaskItem)item;
        }).ToArray();
        // A stand-in for scripts/twin.py: counts its calls and answers like it, one JSON line.
        string script = Path.Combine(dir, "twin.sh");
        File.WriteAllText(script, """
            echo run >> "$(dirname "$0")/calls"
            seed=$6
            echo "{\"seed\": $seed, \"torch\": \"1.13\", \"torchvision\": \"0.14\", \"accuracy\": 0.7$seed, \"loss\": 0.5, \"macro_f1\": 0.4, \"correct\": 7, \"images\": 10}"
            """);
        RunTwins Task() => new()
        {
            BuildEngine = new RecordingBuildEngine(),
            Experiments = items,
            Script = script,
            Python = "/bin/sh",
            ReportFile = Path.Combine(dir, "docs", "validation.md"),
        };

        Assert.True(Task().Execute());
        Assert.True(Task().Execute());

        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "calls")).Length);
        string report = File.ReadAllText(Path.Combine(dir, "docs", "validation.md"));
        Assert.Contains("## s", report);
        Assert.Contains("| 2 | 72.00% | 72.00% |", report);
        Assert.Contains("| accuracy | 71.00% ± 1.41 pp | 71.50% ± 0.71 pp |", report);
        Assert.Contains("| 71.00% ± 1.41 pp | 71.50% ± 0.71 pp | -0.50 pp [", report);
        Assert.Contains("| not shown |", report);
        Assert.Contains(double.Parse("0.72", CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(artifacts, "experiments", "s", "seed-2", "pytorch.json")));
    }

    [Fact]
    public void Execute_NotesParityAndCommit_SummaryThenParitySectionThenExperimentsThenNotes()
    {
        string artifacts = Path.Combine(dir, "artifacts");
        var items = new[] { 1UL, 2UL }.Select(s =>
        {
            ResultFiles.WriteOutput(artifacts, "s", s == 1 ? "0.700000" : "0.720000", seed: s);
            File.WriteAllText(Path.Combine(artifacts, "experiments", "s", $"seed-{s}", "split.tsv"), "path\tlabel\tclass\tsplit\tsha256\n");
            var item = ResultFiles.Item(artifacts, "s", s);
            item.SetMetadata("ConfigFile", Path.Combine(dir, "experiments.yaml"));
            return (Microsoft.Build.Framework.ITaskItem)item;
        }).ToArray();
        string script = Path.Combine(dir, "twin.sh");
        File.WriteAllText(script, """
            seed=$6
            echo "{\"seed\": $seed, \"torch\": \"1.13\", \"torchvision\": \"0.14\", \"accuracy\": 0.7$seed, \"loss\": 0.5, \"macro_f1\": 0.4, \"correct\": 7, \"images\": 10}"
            """);
        string notes = Path.Combine(dir, "notes.md");
        File.WriteAllText(notes, "## Bug study\r\n\r\nWhat the switches do.\r\n");
        string parity = Path.Combine(dir, "parity.md");
        File.WriteAllText(parity, "## Training steps against PyTorch, exactly\n\n| recipe |\n");
        var task = new RunTwins
        {
            BuildEngine = new RecordingBuildEngine(),
            Experiments = items,
            Script = script,
            Python = "/bin/sh",
            ReportFile = Path.Combine(dir, "docs", "validation-transfer.md"),
            NotesFile = notes,
            ParityFile = parity,
            Commit = "0123456789ab",
        };

        Assert.True(task.Execute());

        string report = File.ReadAllText(Path.Combine(dir, "docs", "validation-transfer.md"));
        Assert.Contains("| s | 2 | 71.00% ± 1.41 pp | 71.50% ± 0.71 pp |", report);
        Assert.Contains("Made at commit 0123456789ab.", report);
        Assert.Contains("equivalence within a margin of ±1.50 pp", report);
        int summary = report.IndexOf("## Summary: test accuracy", StringComparison.Ordinal);
        int steps = report.IndexOf("## Training steps against PyTorch, exactly", StringComparison.Ordinal);
        int experiment = report.IndexOf("\n## s\n", StringComparison.Ordinal);
        Assert.True(summary >= 0 && summary < steps && steps < experiment, report);
        Assert.EndsWith("\n## Bug study\n\nWhat the switches do.\n", report);
    }
}
