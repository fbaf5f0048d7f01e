namespace Repro.Config;

/// <summary>The stages of an experiment; a setting belongs to the stages whose results it changes.</summary>
[Flags]
public enum Stage
{
    None = 0,
    Split = 1,
    Train = 2,
    Test = 4,
    All = Split | Train | Test,
}

/// <summary>The type of a setting's value.</summary>
public enum SettingKind { String, Int, Number, Bool, Choice, Path, StringList, Split, Seeds, IntList }

/// <summary>One key of an experiment (or of <c>defaults</c>): its type, range, default, the stages it affects, and
/// where its value lives in the typed <see cref="ExperimentSpec"/>.</summary>
/// <remarks><c>CanonicalAtDefault</c> false: the key is left out of a stage's canonical settings while it has its
/// default, so adding such a key leaves the fingerprints (and locked results) of every experiment that does not set it
/// unchanged.</remarks>
/// <param name="ChoiceType">For <see cref="SettingKind.Choice"/>: the enum whose members are the allowed values.</param>
/// <param name="Read">The key's value in a spec, as the validator stores it (long, double, bool, string, enum, list): the one
/// way back from typed settings to keys, used for canonical stamps and TensorBoard's hparams.</param>
public sealed record SettingSpec(
    string Key,
    SettingKind Kind,
    Stage Stages,
    object? Default,
    string Help,
    double Min = double.MinValue,
    double Max = double.MaxValue,
    Type? ChoiceType = null,
    bool CanonicalAtDefault = true,
    Func<ExperimentSpec, object?>? Reader = null)
{
    /// <summary>The allowed values of a choice, from its enum; null for other kinds.</summary>
    public IReadOnlyList<string>? Choices => ChoiceType is null ? null : Choice.Names(ChoiceType);

    /// <summary>The key's value in <paramref name="spec"/>.</summary>
    public object? Read(ExperimentSpec spec) =>
        (Reader ?? throw new InvalidOperationException($"'{Key}' is a dataset key; it has no experiment value"))(spec);
}

/// <summary>The documented schema of experiments.yaml: docs/reference.md's key tables are rendered from it (<see cref="ReferenceDocs"/>).</summary>
public static class Schema
{
    /// <summary>Keys of a dataset entry under <c>datasets:</c>.</summary>
    public static IReadOnlyList<SettingSpec> DatasetKeys { get; } =
    [
        new("kind", SettingKind.Choice, Stage.All, null, "the reader of the files under root: imagefolder (one folder per class), flower (TensorFlow's flower_photos), oxford-pet (with its official lists), cifar10 (binary version), idx (MNIST's format)", ChoiceType: typeof(DatasetKind)),
        new("root", SettingKind.Path, Stage.All, null, "folder holding the data, relative to experiments.yaml"),
        new("download", SettingKind.Bool, Stage.None, false, "fetch and verify the official archives when root is missing"),
        new("skip_corrupt", SettingKind.Bool, Stage.All, false, "skip unreadable images instead of failing; their count and names (the first few, then \"and N more\") show in the split stage's output, report.md and results.md, and all of them in metrics.json (`\"skipped\"`, written only when images were skipped)"),
        new("classes", SettingKind.IntList, Stage.All, null, "keep only these classes, e.g. `[5, 6, 7, 8, 9]` (default: all): 0-based indices of the dataset's classes, distinct, each below its class count; they become classes 0..n-1 in the order listed, names kept, and the split, its manifest (split.tsv), training, testing and the PyTorch twin see only their images (REPRO127 for a bad list)", 0, 100000),
    ];

    /// <summary>Keys of an experiment; every key but <c>name</c> may also appear under <c>defaults:</c>.</summary>
    public static IReadOnlyList<SettingSpec> ExperimentKeys { get; } =
    [
        new("name", SettingKind.String, Stage.None, null, "unique name, without `@` (it marks command-line variants, `<name>@<key>=<value>`); outputs go to `artifacts/experiments/<name>/`; in a `matrix:` entry, a template naming its axes, such as `{dataset}-{model}-probe`", Reader: s => s.Name),
        new("dataset", SettingKind.String, Stage.All, null, "a name under `datasets:`", Reader: s => s.Dataset.Name),
        new("split", SettingKind.Split, Stage.All, "official", "'official', or the fraction of images held out for test (0-1), stratified and seeded", Reader: s => s.TestFraction is { } f ? f : "official"),
        new("seed", SettingKind.Int, Stage.All, 1L, "seeds the split, initial weights, shuffling and augmentation", 0, int.MaxValue, Reader: s => checked((long)s.Seed)),
        new("seeds", SettingKind.Seeds, Stage.None, null, "seed sweep: `[1, 2, 3]`, or a count `5` for seeds 1..5 (overrides `seed`); each seed is its own incremental run under `<name>/seed-<s>/` with `seed` set to it, so adding a seed runs only that seed and no stage re-runs for the others; results show mean ± std and a 95 % interval", 1, 1000,
            Reader: s => s.SweepSeeds?.Select(x => checked((long)x)).ToArray()),
        new("model", SettingKind.Choice, Stage.Train | Stage.Test, ModelKind.ResNet50, "architecture, as torchvision builds it", ChoiceType: typeof(ModelKind), Reader: s => s.Model.Architecture),
        new("pretrained", SettingKind.Path, Stage.Train | Stage.Test, null, "imagenet (torchvision's weights, downloaded and hash-checked), a torchvision checkpoint (.pth) with a classifier of any size (ImageNet's 1000 classes, your own 10, …; legacy DenseNet names accepted), or none (random init). The backbone loads strictly (every entry present, none unexpected, equal shapes; errors name the entries). The checkpoint's classifier is kept when `head: linear` and it has the experiment's class count, otherwise it is dropped and `head` is built new; report.md says which", Reader: s => s.Model.Pretrained),
        new("head", SettingKind.Choice, Stage.Train | Stage.Test, HeadKind.Linear, "classifier head: linear, or seed (the tutorial's MLP)", ChoiceType: typeof(HeadKind), Reader: s => s.Model.Head),
        new("freeze", SettingKind.Choice, Stage.Train | Stage.Test, FreezeMode.None, "none: fine-tune everything; backbone: train the head only", ChoiceType: typeof(FreezeMode), Reader: s => s.Model.Freeze),
        new("cache_features", SettingKind.Bool, Stage.Train | Stage.Test, false, "with `freeze: backbone`, compute the backbone's features once (evaluation transform) and train the head on them; needs `freeze: backbone` (REPRO126); set aside (the whole network runs every batch) with `frozen_bn_train` or `test_augment`", Reader: s => s.Training.CacheFeatures),
        new("crop", SettingKind.Int, Stage.Train | Stage.Test, 224L, CropHelp(), CropMin, 1024, Reader: s => (long)s.Input.Crop),
        new("augment", SettingKind.Bool, Stage.Train | Stage.Test, true, "training transform: RandomResizedCrop + horizontal flip; false = evaluation transform", Reader: s => s.Input.Augment),
        new("normalize", SettingKind.Choice, Stage.Train | Stage.Test, NormalizationKind.ImageNet, "input normalisation: imagenet mean/std, or half (0.5/0.5, the tutorial's)", ChoiceType: typeof(NormalizationKind), Reader: s => s.Input.Normalize),
        new("batch", SettingKind.Int, Stage.Train | Stage.Test, 32L, "training batch size", 1, 65536, Reader: s => (long)s.Training.Batch),
        new("test_batch", SettingKind.Int, Stage.Test, 128L, "evaluation batch size (does not change results)", 1, 65536, Reader: s => (long)s.Evaluation.TestBatch),
        new("epochs", SettingKind.Int, Stage.Train | Stage.Test, 1L, "training epochs", 0, 100000, Reader: s => (long)s.Training.Epochs),
        new("optimizer", SettingKind.Choice, Stage.Train | Stage.Test, OptimizerKind.Adam, "optimizer (adamw: Adam with decoupled weight decay)", ChoiceType: typeof(OptimizerKind), Reader: s => s.Training.Optimizer),
        new("lr", SettingKind.Number, Stage.Train | Stage.Test, 2e-4, "learning rate", 0, 10, Reader: s => s.Training.LearningRate),
        new("momentum", SettingKind.Number, Stage.Train | Stage.Test, 0.9, "SGD momentum", 0, 1, Reader: s => s.Training.Momentum),
        new("nesterov", SettingKind.Bool, Stage.Train | Stage.Test, false, "SGD with Nesterov momentum", Reader: s => s.Training.Nesterov),
        new("weight_decay", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "weight decay (AdamW: decoupled)", 0, 1, Reader: s => s.Training.WeightDecay),
        new("schedule", SettingKind.Choice, Stage.Train | Stage.Test, ScheduleKind.Constant, "learning-rate schedule", ChoiceType: typeof(ScheduleKind), Reader: s => s.Training.Schedule),
        new("step_epochs", SettingKind.Int, Stage.Train | Stage.Test, 30L, "step schedule: epochs between decays", 1, 100000, Reader: s => (long)s.Training.StepEpochs),
        new("step_gamma", SettingKind.Number, Stage.Train | Stage.Test, 0.1, "step schedule: decay factor", 0, 1, Reader: s => s.Training.StepGamma),
        new("warmup_epochs", SettingKind.Int, Stage.Train | Stage.Test, 0L, "linear warm-up epochs before the schedule", 0, 100000, Reader: s => (long)s.Training.WarmupEpochs),
        new("label_smoothing", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "cross-entropy label smoothing", 0, 1, Reader: s => s.Training.LabelSmoothing),
        new("clip_grad_norm", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "clip the gradient norm to this value; 0 = off", 0, 1e9, Reader: s => s.Training.ClipGradNorm),
        new("device", SettingKind.Choice, Stage.Train | Stage.Test, DeviceChoice.Cpu, "auto (CUDA when present), cpu, cuda", ChoiceType: typeof(DeviceChoice), Reader: s => s.Runtime.Device),
        new("threads", SettingKind.Int, Stage.Train | Stage.Test, 2L, "CPU threads for LibTorch (fixed, for determinism)", 1, 1024, Reader: s => (long)s.Runtime.Threads),
        new("loader_threads", SettingKind.Int, Stage.None, 2L, "threads that prepare batches (results do not depend on it)", 1, 256, Reader: s => (long)s.Runtime.LoaderThreads),
        new("tf32", SettingKind.Bool, Stage.Train | Stage.Test, true, "CUDA: allow TF32 matrix multiplications", Reader: s => s.Runtime.Tf32),
        new("bf16", SettingKind.Bool, Stage.Train | Stage.Test, false, "CUDA: train in bfloat16", Reader: s => s.Runtime.Bf16),
        new("frozen_bn_train", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: with `freeze: backbone`, the backbone goes to training mode with the head, so its BatchNorm running statistics drift on the new data while its weights stay frozen (the tutorial called `model.train()` on the whole network); needs `freeze: backbone` (REPRO126); sets `cache_features` aside", CanonicalAtDefault: false, Reader: s => s.Model.FrozenBatchNormTrains),
        new("test_augment", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: test (and validate each epoch) with the training transform, RandomResizedCrop + flip included, instead of the evaluation transform (the tutorial used one `transforms.Compose` for both folders); needs `augment: true` (REPRO126); sets `cache_features` aside", CanonicalAtDefault: false, Reader: s => s.Input.TestAugment),
        new("load_nonstrict", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: load `pretrained` as PyTorch's `load_state_dict(strict=False)`, legacy DenseNet names not renamed: entries whose names do not match are silently skipped and keep their initial values (the tutorial's DenseNet); report.md gives how many and the first names; shapes must still agree; needs `pretrained` (REPRO126)", CanonicalAtDefault: false, Reader: s => s.Model.LoadNonStrict),
        new("channels_last", SettingKind.Bool, Stage.Train | Stage.Test, true, "NHWC (channels-last) input layout, the faster one on CPUs (docs/benchmarks.md); false = NCHW, PyTorch's default, whose results differ in the last bits; CPUs hiding their cache sizes run NCHW", Reader: s => s.Input.ChannelsLast),
        new("numerics", SettingKind.Choice, Stage.Train | Stage.Test, NumericsMode.Native, "native: LibTorch's fastest kernels for the CPU, results bit for bit only on the same numerics platform (CPU kind); portable: kernels pinned to the x86-64-v3 class (oneDNN and NNPACK off; ATen and MKL's vector math on their AVX2 paths, MKL's GEMM on its COMPATIBLE path), the same bits on every x86-64 CPU with AVX2 and FMA whatever its vendor or caches, slower (docs/numerics.md); needs device cpu", ChoiceType: typeof(NumericsMode), CanonicalAtDefault: false, Reader: s => s.Runtime.Numerics),
        new("tensorboard", SettingKind.Bool, Stage.None, true, "write TensorBoard event files to the run's `tensorboard/` folder (results do not depend on it)", Reader: s => s.Runtime.TensorBoard),
        new("tags", SettingKind.StringList, Stage.None, Array.Empty<string>(), "labels for selecting experiments (`-p:Experiment=<tag>`)", Reader: s => s.Tags),
        new("description", SettingKind.String, Stage.None, "", "free text shown in the report", Reader: s => s.Description),
        new("tutorial", SettingKind.String, Stage.None, "", "the tutorial's result this experiment corresponds to, e.g. flower-resnet50", Reader: s => s.Tutorial),
        // Slurm resources (-p:ReproScheduler=slurm): where and with what a run executes, never what it computes.
        new("slurm_partition", SettingKind.String, Stage.None, "", "Slurm (`-p:ReproScheduler=slurm`): partition (`sbatch --partition`); empty = the cluster's default", Reader: s => s.Slurm.Partition),
        new("slurm_cpus", SettingKind.Int, Stage.None, 0L, "Slurm: CPUs per run (`--cpus-per-task`); 0 = the run's `threads`", 0, 4096, Reader: s => (long)s.Slurm.Cpus),
        new("slurm_mem", SettingKind.String, Stage.None, "", "Slurm: memory per run (`--mem`, e.g. `8G`); empty = the partition's default", Reader: s => s.Slurm.Mem),
        new("slurm_time", SettingKind.String, Stage.None, "", "Slurm: time limit of a run (`--time`, e.g. `2:00:00`); empty = the partition's default", Reader: s => s.Slurm.Time),
        new("slurm_gpus", SettingKind.Int, Stage.None, 0L, "Slurm: GPUs per run (`--gpus`); 0 = none asked for", 0, 64, Reader: s => (long)s.Slurm.Gpus),
    ];

    /// <summary>
    /// The typed spec of a validated experiment entry: <paramref name="values"/> holds every key (the validator filled
    /// in defaults) with the validator's value types. The only place where keys become typed fields; a test reads every
    /// key back through <see cref="SettingSpec.Read"/> and compares.
    /// </summary>
    public static ExperimentSpec ToSpec(string name, int line, DatasetSpec dataset, IReadOnlyDictionary<string, object?> values)
    {
        int Int(string key) => checked((int)(long)values[key]!);
        double Number(string key) => (double)values[key]!;
        bool Bool(string key) => (bool)values[key]!;
        string Text(string key) => (string?)values[key] ?? "";
        T Pick<T>(string key) where T : struct, Enum => (T)values[key]!;
        return new ExperimentSpec(
            name, line, dataset,
            values["split"] as double?,
            checked((ulong)(long)values["seed"]!),
            values["seeds"] is long[] seeds ? [.. seeds.Select(s => checked((ulong)s))] : null,
            new ModelSpec(Pick<ModelKind>("model"), (string?)values["pretrained"], Pick<HeadKind>("head"), Pick<FreezeMode>("freeze"),
                LoadNonStrict: Bool("load_nonstrict"), FrozenBatchNormTrains: Bool("frozen_bn_train")),
            new InputSpec(Int("crop"), Bool("augment"), Pick<NormalizationKind>("normalize"), Bool("channels_last"), TestAugment: Bool("test_augment")),
            new TrainingOptions(Int("batch"), Int("epochs"), Pick<OptimizerKind>("optimizer"), Number("lr"), Number("momentum"), Bool("nesterov"),
                Number("weight_decay"), Pick<ScheduleKind>("schedule"), Int("step_epochs"), Number("step_gamma"), Int("warmup_epochs"),
                Number("label_smoothing"), Number("clip_grad_norm"), Bool("cache_features")),
            new EvaluationOptions(Int("test_batch")),
            new RuntimeOptions(Pick<DeviceChoice>("device"), Int("threads"), Int("loader_threads"), Bool("tf32"), Bool("bf16"), Bool("tensorboard"),
                Pick<NumericsMode>("numerics")),
            new SlurmOptions(Text("slurm_partition"), Int("slurm_cpus"), Text("slurm_mem"), Text("slurm_time"), Int("slurm_gpus")),
            (string[])values["tags"]!, Text("description"), Text("tutorial"));
    }

    /// <summary>The smallest <c>crop</c> this key's range allows, whatever the model.</summary>
    private const int CropMin = 8;

    /// <summary>The smallest crop <paramref name="model"/> runs with: this key's range or the model's own minimum, the larger.</summary>
    public static int MinimumCrop(ModelKind model) => Math.Max(CropMin, ModelInput.MinimumCrop(model));

    // Computed, so the documented minimums follow the layer lists and the range.
    private static string CropHelp() =>
        "input size in pixels (square crop); at least the model's minimum (" +
        string.Join(", ", ModelInput.Models.Select(m => $"{Choice.Name(m)} {MinimumCrop(m)}")) +
        "): the larger of this key's range and the smallest input whose last feature map is still 1x1 after every strided " +
        "convolution and pooling (computed from those layers); smaller is an error before anything runs (REPRO115, or REPRO123 below the range)";

    public static SettingSpec? FindExperimentKey(string key) => ExperimentKeys.FirstOrDefault(k => k.Key == key);

    public static SettingSpec? FindDatasetKey(string key) => DatasetKeys.FirstOrDefault(k => k.Key == key);

    /// <summary>The closest known key by edit distance, for "did you mean" hints.</summary>
    public static string? Suggest(string key, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            int d = Levenshtein(key, candidate);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }
        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
