using Repro.Config;
using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks.Tests;

/// <summary>Writes what a finished experiment leaves behind (metrics.json, training.json, stamps) for the results tasks.</summary>
internal static class ResultFiles
{
    /// <summary>
    /// One run's outputs: <c>experiments/&lt;name&gt;/</c>, or <c>experiments/&lt;name&gt;/seed-&lt;s&gt;/</c> for a seed of a sweep,
    /// computed on numerics platform <paramref name="platform"/>: the run stamp and stage stamps of a real schedule
    /// (<see cref="Scheduled"/>), training.json and metrics.json. Returns the run's folder.
    /// </summary>
    public static string WriteOutput(string artifacts, string name, string accuracy, string loss = "0.500000", string model = "resnet50",
        string platform = "p1", ulong? seed = null, string macroF1 = "0.400000", int images = 16, string tutorial = "", string device = "cpu",
        IReadOnlyList<ulong>? sweep = null)
    {
        var run = Scheduled(artifacts, name, model, seed, tutorial, sweep);
        string dir = run.RunDirectory;
        Directory.CreateDirectory(run.Layout.Stamps);
        File.WriteAllText(run.Layout.SplitStamp, run.Canonical(Stage.Split));
        File.WriteAllText(run.Layout.TrainStamp, run.Canonical(Stage.Train));
        File.WriteAllText(run.Layout.TestStamp, run.Canonical(Stage.Test));
        File.WriteAllText(run.Layout.RunStamp, run.ToJson());
        File.WriteAllText(Path.Combine(dir, "training.json"), RunJson.Serialize(new TrainingRecord("0123456789abcdef", "fedcba9876543210", "full fine-tune", 61.4, [])));
        File.WriteAllText(Path.Combine(dir, "metrics.json"), $$"""
            {
              "experiment": "{{name}}",
              "seed": {{seed ?? 1}},
              "config": "0123456789abcdef",
              "data": "fedcba9876543210",
              "epochs": 2,
              "platform": {
                "id": "{{platform}}",
                "cpu_brand": "Test CPU {{platform}}",
                "device": "{{device}}",
                "threads": 2
              },
              "test": {
                "images": {{images}},
                "correct": 8,
                "loss": {{loss}},
                "accuracy": {{accuracy}},
                "macro_f1": {{macroF1}},
                "per_class": []
              }
            }
            """);
        return dir + Path.DirectorySeparatorChar;
    }

    /// <summary>
    /// The run the build would schedule for experiment <paramref name="name"/> of a tiny idx dataset (experiments.yaml
    /// beside <paramref name="artifacts"/>), 2 epochs; a seed of a sweep when <paramref name="seed"/> is given (the sweep's
    /// seeds: <paramref name="sweep"/>, or just that seed).
    /// </summary>
    public static ScheduledRun Scheduled(string artifacts, string name, string model = "resnet50", ulong? seed = null, string tutorial = "",
        IReadOnlyList<ulong>? sweep = null)
    {
        string root = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(artifacts)))!;
        var dataset = new DatasetSpec("tiny", DatasetKind.Idx, Path.Combine(root, "tiny"), Download: false, SkipCorrupt: false, Line: 3);
        var spec = new ExperimentSpec(name, 8, dataset, TestFraction: null, seed ?? 1, seed is { } s ? sweep ?? [s] : null,
            new ModelSpec(Choice.Parse<ModelKind>(model), null, HeadKind.Linear, FreezeMode.None),
            new InputSpec(16, Augment: false, NormalizationKind.ImageNet, ChannelsLast: true),
            new TrainingOptions(16, 2, OptimizerKind.Adam, 2e-4),
            new EvaluationOptions(16),
            new RuntimeOptions(DeviceChoice.Cpu, 1, 1, Tf32: true, Bf16: false, TensorBoard: false),
            new SlurmOptions("", 0, "", "", 0),
            [], "", tutorial);
        return ScheduledRun.Create(Path.Combine(root, "experiments.yaml"), spec, seed, artifacts);
    }

    /// <summary>The item ReadExperiments makes for a run: <paramref name="name"/>, or <c>name/seed-s</c> in a sweep.</summary>
    public static TaskItem Item(string artifacts, string name, ulong? seed = null)
    {
        string experimentDir = Path.Combine(artifacts, "experiments", name) + Path.DirectorySeparatorChar;
        var item = new TaskItem(seed is { } s ? $"{name}/{ExperimentLayout.RunFolder(s)}" : name);
        item.SetMetadata("Experiment", name);
        item.SetMetadata("Seed", (seed ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        item.SetMetadata("Sweep", seed is null ? "false" : "true");
        item.SetMetadata("ExperimentDirectory", experimentDir);
        item.SetMetadata("OutputDirectory", seed is { } t ? Path.Combine(experimentDir, ExperimentLayout.RunFolder(t)) + Path.DirectorySeparatorChar : experimentDir);
        return item;
    }
}
