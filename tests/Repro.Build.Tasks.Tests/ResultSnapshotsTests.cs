using Repro.Config;
using Repro.Core.Tests;

namespace Repro.Build.Tasks.Tests;

public sealed class ResultSnapshotsTests : IDisposable
{
    private readonly string artifacts = Directory.CreateTempSubdirectory("repro-snapshot-").FullName;

    public void Dispose() => Directory.Delete(artifacts, recursive: true);

    /// <summary>
    /// A run's outputs with what a real test stage writes beyond ResultFiles' minimum: three classes, per-class rows,
    /// the confusion matrix and two epochs of history; <paramref name="shift"/> moves one image from class b to c.
    /// </summary>
    internal static string WriteRichOutput(string artifacts, string name, ulong? seed, int shift = 0, string accuracy = "0.666667")
    {
        string dir = ResultFiles.WriteOutput(artifacts, name, accuracy, platform: "p1", seed: seed, images: 6);
        string metrics = File.ReadAllText(Path.Combine(dir, "metrics.json"));
        string bAccuracy = shift == 0 ? "0.500000" : "0.000000";
        string cCorrect = shift == 0 ? "1" : "2";
        metrics = metrics.Replace("\"per_class\": []", $$"""
            "per_class": [
                  {"class": "a", "images": 2, "correct": 2, "accuracy": 1.000000, "precision": 1.000000, "f1": 1.000000},
                  {"class": "b|x", "images": 2, "correct": {{1 - shift}}, "accuracy": {{bAccuracy}}, "precision": 0.500000, "f1": 0.500000},
                  {"class": "c", "images": 2, "correct": {{cCorrect}}, "accuracy": 0.500000, "precision": 0.500000, "f1": 0.500000}
                ],
                "confusion": [[2, 0, 0], [0, {{1 - shift}}, {{1 + shift}}], [0, 1, 1]]
              },
              "history": [
                {"epoch": 1, "train_loss": 1.200000, "train_accuracy": 0.400000, "validation_loss": 1.100000, "validation_accuracy": 0.500000, "lr": 0.0002000000},
                {"epoch": 2, "train_loss": 0.900000, "train_accuracy": 0.600000, "validation_loss": 1.000000, "validation_accuracy": {{accuracy}}, "lr": 0.0002000000}
              ],
              "ignored": {
            """, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir, "metrics.json"), metrics);
        return dir;
    }

    [Fact]
    public void From_SweepOfTwoSeeds_MatchesVerifiedSnapshot()
    {
        string one = WriteRichOutput(artifacts, "s", 1);
        string two = WriteRichOutput(artifacts, "s", 2, accuracy: "0.833333");

        var snapshot = ResultSnapshots.From([RunResult.Read(two)!, RunResult.Read(one)!]);

        Snapshot.Verify(snapshot.Render());
    }

    [Fact]
    public void Parse_RenderedSnapshot_ReadsBackRunsClassesConfusionAndHistory()
    {
        string one = WriteRichOutput(artifacts, "s", 1);
        string two = WriteRichOutput(artifacts, "s", 2, shift: 1, accuracy: "0.833333");
        var written = ResultSnapshots.From([RunResult.Read(one)!, RunResult.Read(two)!]);

        var read = ResultsSnapshot.Parse(written.Render());

        Assert.Equal(written.Render(), read.Render());
        Assert.Equal(["a", "b|x", "c"], read.Classes.Select(c => c.Name));
        Assert.Equal(1, read.Confusion[1, 2]);
        Assert.Equal([1UL, 2], read.Runs.Select(r => r.Seed));
        Assert.Equal("0.833333", read.Runs[1].History[1]["validation_accuracy"]);
        Assert.Equal("p1", read.Platform);
        Assert.Contains(new KeyValuePair<string, string>("seed", "1, 2"), read.Settings);
    }

    [Fact]
    public void Parse_NotASnapshot_InvalidDataException()
    {
        var error = Assert.Throws<InvalidDataException>(() => ResultsSnapshot.Parse("# a\n\nsome notes\n"));

        Assert.Contains("no '## Configuration' section", error.Message);
    }
}
