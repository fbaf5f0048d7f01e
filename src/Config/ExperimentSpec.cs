using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Repro.Config;

/// <summary>A named dataset under <c>datasets:</c>, its root resolved against the file's folder.</summary>
/// <param name="Classes">With <c>classes:</c>, the dataset's class indices to keep, in their new order; else null (all).</param>
public sealed record DatasetSpec(string Name, DatasetKind Kind, string Root, bool Download, bool SkipCorrupt, int Line, IReadOnlyList<int>? Classes = null);

/// <summary>The network: architecture, where its weights start, its head and what trains.</summary>
/// <param name="Pretrained"><see cref="ModelSpec.ImageNetWeights"/>, an absolute path to a torchvision checkpoint, or null (random init).</param>
/// <param name="LoadNonStrict">Tutorial-faithful: load <paramref name="Pretrained"/> as <c>load_state_dict(strict=False)</c>.</param>
/// <param name="FrozenBatchNormTrains">Tutorial-faithful: a frozen backbone's BatchNorm layers go to training mode with the head.</param>
public sealed record ModelSpec(ModelKind Architecture, string? Pretrained, HeadKind Head, FreezeMode Freeze, bool LoadNonStrict = false, bool FrozenBatchNormTrains = false)
{
    /// <summary>The <c>pretrained</c> value that asks for torchvision's published ImageNet weights.</summary>
    public const string ImageNetWeights = "imagenet";
}

/// <summary>The input pipeline: crop, augmentation, normalisation, layout.</summary>
/// <param name="TestAugment">Tutorial-faithful: test (and validate) with the training transform.</param>
public sealed record InputSpec(int Crop, bool Augment, NormalizationKind Normalize, bool ChannelsLast, bool TestAugment = false);

/// <summary>What the training loop needs: batch, epochs, optimizer and schedule. Nothing here names a file.</summary>
public sealed record TrainingOptions(
    int Batch,
    int Epochs,
    OptimizerKind Optimizer,
    double LearningRate,
    double Momentum = 0.9,
    bool Nesterov = false,
    double WeightDecay = 0,
    ScheduleKind Schedule = ScheduleKind.Constant,
    int StepEpochs = 30,
    double StepGamma = 0.1,
    int WarmupEpochs = 0,
    double LabelSmoothing = 0,
    double ClipGradNorm = 0,
    bool CacheFeatures = false);

/// <summary>Evaluation settings that do not change results.</summary>
public sealed record EvaluationOptions(int TestBatch);

/// <summary>Where and how LibTorch runs.</summary>
/// <param name="LoaderThreads">Threads preparing batches (results do not depend on it).</param>
/// <param name="TensorBoard">Write TensorBoard event files (results do not depend on it).</param>
/// <param name="Numerics">Native kernels, or kernels pinned to an ISA class so that every CPU of the class computes the same bits.</param>
public sealed record RuntimeOptions(DeviceChoice Device, int Threads, int LoaderThreads, bool Tf32, bool Bf16, bool TensorBoard,
    NumericsMode Numerics = NumericsMode.Native);

/// <summary>Slurm resources of a run: where and with what it executes, never what it computes.</summary>
/// <param name="Cpus">CPUs per run; 0 = the run's threads.</param>
public sealed record SlurmOptions(string Partition, int Cpus, string Mem, string Time, int Gpus);

/// <summary>
/// One experiment of experiments.yaml with every setting resolved (built-in default, then <c>defaults:</c>, then its
/// own keys) and typed. Immutable: a seed of a sweep is <see cref="WithSeed"/>. The build serialises it into each run's
/// <c>stamps/run.json</c> (<see cref="ScheduledRun"/>) and the host runs a stage from that, never from the YAML.
/// </summary>
/// <param name="Line">Line of the experiment's entry in experiments.yaml.</param>
/// <param name="TestFraction">Null for the dataset's official split, else the held-out test fraction.</param>
/// <param name="SweepSeeds">With <c>seeds:</c>, the seeds of the sweep (each its own run); else null.</param>
public sealed record ExperimentSpec(
    string Name,
    int Line,
    DatasetSpec Dataset,
    double? TestFraction,
    ulong Seed,
    IReadOnlyList<ulong>? SweepSeeds,
    ModelSpec Model,
    InputSpec Input,
    TrainingOptions Training,
    EvaluationOptions Evaluation,
    RuntimeOptions Runtime,
    SlurmOptions Slurm,
    IReadOnlyList<string> Tags,
    string Description,
    string Tutorial)
{
    /// <summary>The seeds this experiment runs with: the sweep's, or just <see cref="Seed"/>.</summary>
    [JsonIgnore]
    public IReadOnlyList<ulong> Seeds => SweepSeeds ?? [Seed];

    /// <summary>Whether <c>seeds:</c> asks for a sweep (outputs per seed, results as mean ± std).</summary>
    [JsonIgnore]
    public bool IsSweep => SweepSeeds is not null;

    /// <summary>The same experiment with one seed of its sweep: what each run of the sweep executes.</summary>
    public ExperimentSpec WithSeed(ulong seed) => this with { Seed = seed };

    /// <summary>Every setting under its experiments.yaml key, as the schema reads it back (TensorBoard's hparams).</summary>
    public IEnumerable<(string Key, object? Value)> Settings() =>
        Schema.ExperimentKeys.Select(k => (k.Key, k.Read(this)));

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
            json.WriteString("dataset.kind", Choice.Name(Dataset.Kind));
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
                object? value = spec.Read(this);
                if (spec.CanonicalAtDefault || !Equals(value, spec.Default))
                    WriteSetting(json, spec, value, baseDirectory);
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    private static void WriteSetting(Utf8JsonWriter json, SettingSpec spec, object? value, string baseDirectory)
    {
        switch (value)
        {
            case null: json.WriteNull(spec.Key); break;
            case long l: json.WriteNumber(spec.Key, l); break;
            case double d: json.WriteString(spec.Key, d.ToString("R", CultureInfo.InvariantCulture)); break;
            case bool b: json.WriteBoolean(spec.Key, b); break;
            case Enum e: json.WriteString(spec.Key, Choice.Name(e)); break;
            case string s when spec.Kind == SettingKind.Path && s != ModelSpec.ImageNetWeights: json.WriteString(spec.Key, Relative(s, baseDirectory)); break;
            case string s: json.WriteString(spec.Key, s); break;
            case IReadOnlyList<string> list:
                json.WriteStartArray(spec.Key);
                foreach (var item in list) json.WriteStringValue(item);
                json.WriteEndArray();
                break;
            default: throw new InvalidOperationException($"setting '{spec.Key}' reads back as {value.GetType().Name}, which has no canonical form");
        }
    }

    /// <summary>Short hash of <see cref="Canonical"/>: identifies the configuration in checkpoints and reports.</summary>
    public string Fingerprint(Stage stage, string baseDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical(stage, baseDirectory))))[..16];

    /// <summary>
    /// What a training checkpoint is keyed on: the train stage's fingerprint, with <c>epochs</c> left out unless the
    /// learning-rate schedule spreads over the total (cosine). Every epoch's shuffle, augmentation and dropout draws
    /// are keyed on the epoch and the constant, step and warm-up rates on the step, so epoch k ends with the same
    /// bytes whatever the total: a finished run's checkpoint trains on when <c>epochs</c> grows.
    /// </summary>
    public string CheckpointFingerprint(string baseDirectory) => Training.Schedule == ScheduleKind.Cosine
        ? Fingerprint(Stage.Train, baseDirectory)
        : (this with { Training = Training with { Epochs = 0 } }).Fingerprint(Stage.Train, baseDirectory);

    private static string Relative(string path, string baseDirectory) =>
        Path.GetRelativePath(baseDirectory, path).Replace('\\', '/');
}
