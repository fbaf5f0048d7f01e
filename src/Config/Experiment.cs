using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Repro.Config;

/// <summary>One experiment with every setting resolved (built-in default, then <c>defaults:</c>, then its own keys).</summary>
public sealed class Experiment(string name, DatasetConfig dataset, IReadOnlyDictionary<string, object?> values, int line)
{
    /// <summary>The <c>pretrained</c> value that asks for torchvision's published ImageNet weights.</summary>
    public const string ImageNetWeights = "imagenet";

    public string Name { get; } = name;

    public DatasetConfig Dataset { get; } = dataset;

    /// <summary>Line of the experiment's entry in experiments.yaml.</summary>
    public int Line { get; } = line;

    public IReadOnlyDictionary<string, object?> Values { get; } = values;

    public string Model => (string)Values["model"]!;
    public string? Pretrained => (string?)Values["pretrained"];
    public string Head => (string)Values["head"]!;
    public string Freeze => (string)Values["freeze"]!;
    public bool CacheFeatures => (bool)Values["cache_features"]!;
    public int Crop => Int("crop");
    public bool Augment => (bool)Values["augment"]!;
    public string Normalize => (string)Values["normalize"]!;
    public int Batch => Int("batch");
    public int TestBatch => Int("test_batch");
    public int Epochs => Int("epochs");
    public string Optimizer => (string)Values["optimizer"]!;
    public double LearningRate => (double)Values["lr"]!;
    public double Momentum => (double)Values["momentum"]!;
    public bool Nesterov => (bool)Values["nesterov"]!;
    public double WeightDecay => (double)Values["weight_decay"]!;
    public string Schedule => (string)Values["schedule"]!;
    public int StepEpochs => Int("step_epochs");
    public double StepGamma => (double)Values["step_gamma"]!;
    public int WarmupEpochs => Int("warmup_epochs");
    public double LabelSmoothing => (double)Values["label_smoothing"]!;
    public double ClipGradNorm => (double)Values["clip_grad_norm"]!;
    public string Device => (string)Values["device"]!;
    public int Threads => Int("threads");
    public int LoaderThreads => Int("loader_threads");
    public bool Tf32 => (bool)Values["tf32"]!;
    public bool Bf16 => (bool)Values["bf16"]!;
    public bool ChannelsLast => (bool)Values["channels_last"]!;
    public bool TensorBoard => (bool)Values["tensorboard"]!;
    public ulong Seed => (ulong)Int("seed");
    public bool FrozenBatchNormTrains => Values.GetValueOrDefault("frozen_bn_train") as bool? ?? false;
    public bool TestAugment => Values.GetValueOrDefault("test_augment") as bool? ?? false;
    public bool LoadNonStrict => Values.GetValueOrDefault("load_nonstrict") as bool? ?? false;

    /// <summary>
    /// The seeds this experiment runs with: <c>seeds:</c> when given (a sweep, each seed its own run under
    /// <c>&lt;name&gt;/seed-&lt;s&gt;/</c>), otherwise just <see cref="Seed"/>.
    /// </summary>
    public IReadOnlyList<ulong> Seeds => Values.GetValueOrDefault("seeds") is long[] seeds ? [.. seeds.Select(s => (ulong)s)] : [Seed];

    /// <summary>Whether <c>seeds:</c> asks for a sweep (outputs per seed, results as mean ± std).</summary>
    public bool IsSweep => Values.GetValueOrDefault("seeds") is long[];

    /// <summary>The same experiment with <c>seed</c> set to one seed of its sweep: what each run of the sweep executes.</summary>
    public Experiment WithSeed(ulong seed)
    {
        var values = new Dictionary<string, object?>(Values, StringComparer.Ordinal) { ["seed"] = checked((long)seed) };
        return new Experiment(Name, Dataset, values, Line);
    }
    public IReadOnlyList<string> Tags => (string[])Values["tags"]!;
    public string Description => (string?)Values["description"] ?? "";
    public string Tutorial => (string?)Values["tutorial"] ?? "";

    /// <summary><c>null</c> for the dataset's official split, else the held-out test fraction.</summary>
    public double? TestFraction => Values["split"] is double f ? f : null;

    private int Int(string key) => checked((int)(long)Values[key]!);

    /// <summary>
    /// The settings a stage's results depend on, as canonical JSON (sorted keys, invariant numbers, paths
    /// relative to <paramref name="baseDirectory"/>): comments, key order and unrelated keys leave it unchanged.
    /// </summary>
    public string Canonical(Stage stage, string baseDirectory)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("stage", stage.ToString().ToLowerInvariant());
            json.WriteString("dataset.kind", Dataset.Kind);
            json.WriteString("dataset.root", Relative(Dataset.Root, baseDirectory));
            json.WriteBoolean("dataset.skip_corrupt", Dataset.SkipCorrupt);
            // Only when set, so that datasets without a class filter keep their fingerprints.
            if (Dataset.Classes is { } classes)
            {
                json.WriteStartArray("dataset.classes");
                foreach (int c in classes) json.WriteNumberValue(c);
                json.WriteEndArray();
            }
            foreach (var spec in Schema.ExperimentKeys.Where(s => (s.Stages & stage) != 0).OrderBy(s => s.Key, StringComparer.Ordinal))
            {
                if (!spec.CanonicalAtDefault && Equals(Values.GetValueOrDefault(spec.Key), spec.Default))
                    continue;
                switch (Values[spec.Key])
                {
                    case null: json.WriteNull(spec.Key); break;
                    case long l: json.WriteNumber(spec.Key, l); break;
                    case double d: json.WriteString(spec.Key, d.ToString("R", CultureInfo.InvariantCulture)); break;
                    case bool b: json.WriteBoolean(spec.Key, b); break;
                    case string s when spec.Kind == SettingKind.Path && s != ImageNetWeights: json.WriteString(spec.Key, Relative(s, baseDirectory)); break;
                    case string s: json.WriteString(spec.Key, s); break;
                    case string[] list:
                        json.WriteStartArray(spec.Key);
                        foreach (var item in list) json.WriteStringValue(item);
                        json.WriteEndArray();
                        break;
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    /// <summary>Short hash of <see cref="Canonical"/>: identifies the configuration in checkpoints and reports.</summary>
    public string Fingerprint(Stage stage, string baseDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(stage, baseDirectory))))[..16];

    private static string Relative(string path, string baseDirectory) =>
        Path.GetRelativePath(baseDirectory, path).Replace('\\', '/');
}
