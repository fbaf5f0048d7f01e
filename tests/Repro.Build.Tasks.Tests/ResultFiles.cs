namespace Repro.Build.Tasks.Tests;

/// <summary>Writes what a finished experiment leaves behind (metrics.json, training.json, stamps) for the results tasks.</summary>
internal static class ResultFiles
{
    public static string WriteOutput(string artifacts, string name, string accuracy, string loss = "0.500000", string model = "resnet50")
    {
        string dir = Path.Combine(artifacts, "experiments", name);
        Directory.CreateDirectory(Path.Combine(dir, "stamps"));
        File.WriteAllText(Path.Combine(dir, "stamps", "split.json"), "{\"stage\": \"split\"}\n");
        File.WriteAllText(Path.Combine(dir, "stamps", "train.json"),
            $"{{\"stage\": \"train\", \"dataset\": \"tiny\", \"model\": \"{model}\", \"pretrained\": null, \"freeze\": \"none\", \"device\": \"cpu\"}}\n");
        File.WriteAllText(Path.Combine(dir, "stamps", "test.json"), "{\"stage\": \"test\"}\n");
        File.WriteAllText(Path.Combine(dir, "training.json"), "{\"Seconds\": 61.4}");
        File.WriteAllText(Path.Combine(dir, "metrics.json"), $$"""
            {
              "experiment": "{{name}}",
              "config": "0123456789abcdef",
              "data": "fedcba9876543210",
              "epochs": 2,
              "test": {
                "images": 16,
                "correct": 8,
                "loss": {{loss}},
                "accuracy": {{accuracy}},
                "macro_f1": 0.400000,
                "per_class": []
              }
            }
            """);
        return dir + Path.DirectorySeparatorChar;
    }
}
