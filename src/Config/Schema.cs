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

/// <summary>One key of an experiment (or of <c>defaults</c>): its type, range, default and the stages it affects.</summary>
/// <remarks><c>CanonicalAtDefault</c> false: the key is left out of a stage's canonical settings while it has its
/// default, so adding such a key leaves the fingerprints (and locked results) of every experiment that does not set it
/// unchanged.</remarks>
public sealed record SettingSpec(
    string Key,
    SettingKind Kind,
    Stage Stages,
    object? Default,
    string Help,
    double Min = double.MinValue,
    double Max = double.MaxValue,
    string[]? Choices = null,
    bool CanonicalAtDefault = true);

/// <summary>The documented schema of experiments.yaml. README.md's key table is written from it.</summary>
public static class Schema
{
    /// <summary>Keys of a dataset entry under <c>datasets:</c>.</summary>
    public static IReadOnlyList<SettingSpec> DatasetKeys { get; } =
    [
        new("kind", SettingKind.Choice, Stage.All, null, "reader: imagefolder, flower, oxford-pet, cifar10, idx",
            Choices: ["imagefolder", "flower", "oxford-pet", "cifar10", "idx"]),
        new("root", SettingKind.Path, Stage.All, null, "folder holding the data, relative to experiments.yaml"),
        new("download", SettingKind.Bool, Stage.None, false, "fetch and verify the official archives when root is missing"),
        new("skip_corrupt", SettingKind.Bool, Stage.All, false, "skip unreadable images instead of failing; their count and names show in the split output, metrics.json, report.md and results.md"),
        new("classes", SettingKind.IntList, Stage.All, null, "keep only these classes (0-based indices of the dataset's classes, distinct), re-indexed 0..n-1 in the order listed, names kept; every stage and the split manifest see only their images", 0, 100000),
    ];

    /// <summary>Keys of an experiment; every key but <c>name</c> may also appear under <c>defaults:</c>.</summary>
    public static IReadOnlyList<SettingSpec> ExperimentKeys { get; } =
    [
        new("name", SettingKind.String, Stage.None, null, "unique name; outputs go to artifacts/experiments/<name>/"),
        new("dataset", SettingKind.String, Stage.All, null, "a name under datasets:"),
        new("split", SettingKind.Split, Stage.All, "official", "'official', or the fraction of images held out for test (0-1), stratified and seeded"),
        new("seed", SettingKind.Int, Stage.All, 1L, "seeds the split, initial weights, shuffling and augmentation", 0, int.MaxValue),
        new("seeds", SettingKind.Seeds, Stage.None, null, "seed sweep: a list such as [1, 2, 3], or a count n for seeds 1..n; each seed runs as its own experiment under <name>/seed-<s>/, results show mean ± std (overrides seed)", 1, 1000),
        new("model", SettingKind.Choice, Stage.Train | Stage.Test, "resnet50", "architecture", Choices: ["resnet50", "densenet121"]),
        new("pretrained", SettingKind.Path, Stage.Train | Stage.Test, null, "imagenet (torchvision's weights, downloaded and hash-checked), a torchvision checkpoint (.pth) with a classifier of any size, or none (random init); the backbone loads strictly, the checkpoint's classifier is kept when head is linear with the experiment's class count, otherwise replaced by head (report.md says which)"),
        new("head", SettingKind.Choice, Stage.Train | Stage.Test, "linear", "classifier head: linear, or seed (the tutorial's MLP)", Choices: ["linear", "seed"]),
        new("freeze", SettingKind.Choice, Stage.Train | Stage.Test, "none", "none: fine-tune everything; backbone: train the head only", Choices: ["none", "backbone"]),
        new("cache_features", SettingKind.Bool, Stage.Train | Stage.Test, false, "with freeze: backbone, compute backbone features once and train the head on them"),
        new("crop", SettingKind.Int, Stage.Train | Stage.Test, 224L, "input size in pixels (square crop); at least the model's minimum, computed from its strides and pools (resnet50 1, densenet121 29; REPRO115 below it)", 8, 1024),
        new("augment", SettingKind.Bool, Stage.Train | Stage.Test, true, "training transform: RandomResizedCrop + horizontal flip; false = evaluation transform"),
        new("normalize", SettingKind.Choice, Stage.Train | Stage.Test, "imagenet", "input normalisation: imagenet mean/std, or half (0.5/0.5, the tutorial's)", Choices: ["imagenet", "half"]),
        new("batch", SettingKind.Int, Stage.Train | Stage.Test, 32L, "training batch size", 1, 65536),
        new("test_batch", SettingKind.Int, Stage.Test, 128L, "evaluation batch size (does not change results)", 1, 65536),
        new("epochs", SettingKind.Int, Stage.Train | Stage.Test, 1L, "training epochs", 0, 100000),
        new("optimizer", SettingKind.Choice, Stage.Train | Stage.Test, "adam", "adam, adamw, sgd", Choices: ["adam", "adamw", "sgd"]),
        new("lr", SettingKind.Number, Stage.Train | Stage.Test, 2e-4, "learning rate", 0, 10),
        new("momentum", SettingKind.Number, Stage.Train | Stage.Test, 0.9, "SGD momentum", 0, 1),
        new("nesterov", SettingKind.Bool, Stage.Train | Stage.Test, false, "SGD with Nesterov momentum"),
        new("weight_decay", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "weight decay (AdamW: decoupled)", 0, 1),
        new("schedule", SettingKind.Choice, Stage.Train | Stage.Test, "constant", "learning-rate schedule", Choices: ["constant", "cosine", "step"]),
        new("step_epochs", SettingKind.Int, Stage.Train | Stage.Test, 30L, "step schedule: epochs between decays", 1, 100000),
        new("step_gamma", SettingKind.Number, Stage.Train | Stage.Test, 0.1, "step schedule: decay factor", 0, 1),
        new("warmup_epochs", SettingKind.Int, Stage.Train | Stage.Test, 0L, "linear warm-up epochs before the schedule", 0, 100000),
        new("label_smoothing", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "cross-entropy label smoothing", 0, 1),
        new("clip_grad_norm", SettingKind.Number, Stage.Train | Stage.Test, 0.0, "clip the gradient norm to this value; 0 = off", 0, 1e9),
        new("device", SettingKind.Choice, Stage.Train | Stage.Test, "cpu", "auto (CUDA when present), cpu, cuda", Choices: ["auto", "cpu", "cuda"]),
        new("threads", SettingKind.Int, Stage.Train | Stage.Test, 2L, "CPU threads for LibTorch (fixed, for determinism)", 1, 1024),
        new("loader_threads", SettingKind.Int, Stage.None, 2L, "threads that prepare batches (results do not depend on it)", 1, 256),
        new("tf32", SettingKind.Bool, Stage.Train | Stage.Test, true, "CUDA: allow TF32 matrix multiplications"),
        new("bf16", SettingKind.Bool, Stage.Train | Stage.Test, false, "CUDA: train in bfloat16"),
        new("frozen_bn_train", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: with freeze: backbone, leave the backbone's BatchNorm layers in training mode, so their running statistics drift on the new data while their weights stay frozen (the tutorial called model.train() on the whole network)", CanonicalAtDefault: false),
        new("test_augment", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: test (and validate each epoch) with the training transform, random crops and flips included, instead of the evaluation transform (the tutorial used one transform for both)", CanonicalAtDefault: false),
        new("load_nonstrict", SettingKind.Bool, Stage.Train | Stage.Test, false, "tutorial-faithful: load pretrained weights as load_state_dict(strict=False) without renaming legacy keys: entries whose names do not match are silently skipped (the tutorial's DenseNet); report.md says how many", CanonicalAtDefault: false),
        new("channels_last", SettingKind.Bool, Stage.Train | Stage.Test, false, "NHWC input layout: faster convolutions at larger crops; reproducible, but not the same results as NCHW"),
        new("tensorboard", SettingKind.Bool, Stage.None, true, "write TensorBoard event files to the run's tensorboard/ folder (results do not depend on it)"),
        new("tags", SettingKind.StringList, Stage.None, Array.Empty<string>(), "labels for selecting experiments (-p:Experiment=<tag>)"),
        new("description", SettingKind.String, Stage.None, "", "free text shown in the report"),
        new("tutorial", SettingKind.String, Stage.None, "", "the tutorial's result this experiment corresponds to, e.g. flower-resnet50"),
        // Slurm resources (-p:ReproScheduler=slurm): where and with what a run executes, never what it computes.
        new("slurm_partition", SettingKind.String, Stage.None, "", "Slurm: partition (sbatch --partition); empty = the cluster's default"),
        new("slurm_cpus", SettingKind.Int, Stage.None, 0L, "Slurm: CPUs per run (sbatch --cpus-per-task); 0 = the run's threads", 0, 4096),
        new("slurm_mem", SettingKind.String, Stage.None, "", "Slurm: memory per run (sbatch --mem, e.g. 8G); empty = the partition's default"),
        new("slurm_time", SettingKind.String, Stage.None, "", "Slurm: time limit of a run (sbatch --time, e.g. 2:00:00); empty = the partition's default"),
        new("slurm_gpus", SettingKind.Int, Stage.None, 0L, "Slurm: GPUs per run (sbatch --gpus); 0 = none asked for", 0, 64),
    ];

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
