using Repro.Config;
using Microsoft.Build.Utilities;

namespace Repro.Build.Tasks.Tests;

/// <summary>Writes what a finished experiment leaves behind (metrics.json, training.json, stamps) for the results tasks.</summary>
internal static class ResultFiles
{
    /// <summary>
    /// One run's outputs: <c>experiments/&lt;name&gt;/</c>, or <c>experiments/&lt;name&gt;/seed-&lt;s&gt;/</c> for a seed of a sweep,
    /// computed on numerics platform <paramref name="platform"/>. Returns the run's folder.
    /// </summary>
    public static string WriteOutput(string artifacts, string name, string accuracy, string loss = "0.500000", string model = "resnet50",
        string platform = "p1", ulong? seed = null, string macroF1 = "0.400000", int images = 16)
    {
        string dir = Path.Combine(artifacts, "experiments", name);
        if (seed is { } s)
            dir = Path.Combine(dir, ExperimentLayout.RunFolder(s));
        Directory.CreateDirectory(Path.Combine(dir, "stamps"));
        File.WriteAllText(Path.Combine(dir, "stamps", "split.json"), $"{{\"stage\": \"split\", \"seed\": {seed ?? 1}}}\n");
        File.WriteAllText(Path.Combine(dir, "stamps", "train.json"),
            $"{{\"stage\": \"train\", \"dataset\": \"tiny\", \"model\": \"{model}\", \"pretrained\": null, \"freeze\": \"none\", \"device\": \"cpu\", \"seed\": {seed ?? 1}}}\n");
        File.WriteAllText(Path.Combine(dir, "stamps", "test.json"), $"{{\"stage\": \"test\", \"seed\": {seed ?? 1}}}\n");
        File.WriteAllText(Path.Combine(dir, "training.json"), RunJson.Serialize(new TrainingRecord("0123456789abcdef", "fedcba9876543210", "full fine-tune", 61.4, [])));
        File.WriteAllText(Path.Combine(dir, "metrics.json"), $$"""
            {
              "experiment": "{{name}}",
              "config": "0123456789abcdef",
              "data": "fedcba9876543210",
              "epochs": 2,
              "platform": {
                "id": "{{platform}}",
                "cpu_brand": "Test CPU {{platform}}",
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

    /// <summary>The item ReadExperiments makes for a run: <paramref name="name"/>, or <c>name/seed-s</c> in a sweep.</summary>
    public static TaskItem Item(string artifacts, string name, ulong? seed = null, string tutorial = "")
    {
        string experimentDir = Path.Combine(artifacts, "experiments", name) + Path.DirectorySeparatorChar;
        var item = new TaskItem(seed is { } s ? $"{name}/{ExperimentLayout.RunFolder(s)}" : name);
        item.SetMetadata("Experiment", name);
        item.SetMetadata("Seed", (seed ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        item.SetMetadata("Sweep", seed is null ? "false" : "true");
        item.SetMetadata("ExperimentDirectory", experimentDir);
        item.SetMetadata("OutputDirectory", seed is { } t ? Path.Combine(experimentDir, ExperimentLayout.RunFolder(t)) + Path.DirectorySeparatorChar : experimentDir);
        item.SetMetadata("Tutorial", tutorial);
        return item;
    }
}
