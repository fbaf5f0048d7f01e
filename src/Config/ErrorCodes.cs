using System.Text;

namespace Repro.Config;

/// <summary>One error code: the one thing it means, and a message it is reported with.</summary>
public sealed record ErrorCode(string Code, string Meaning, string Example);

/// <summary>
/// Every REPROnnn code the build, the validator and the host report. A code is a name people search for and CI
/// annotations group by, so each has exactly one meaning and is never reused; a new meaning gets a new, unused
/// number. Nothing may branch on a code: it is output, not state. docs/reference.md's "Error codes" table is
/// <see cref="MarkdownTable"/> (<see cref="ReferenceDocs"/>; a test keeps the two equal).
/// </summary>
public static class ErrorCodes
{
    // 0xx: keeping TorchSharp loadable.
    public const string PatchFailed = "REPRO001";

    // 10x-12x: experiments.yaml, reported by the validator before anything runs.
    public const string ConfigNotFound = "REPRO100";
    public const string YamlSyntax = "REPRO101";
    public const string FileNotMapping = "REPRO102";
    public const string ExperimentsNotList = "REPRO103";
    public const string NoExperimentsList = "REPRO104";
    public const string ExperimentWithoutName = "REPRO105";
    public const string NameNotFolderName = "REPRO106";
    public const string DuplicateName = "REPRO107";
    public const string ExperimentWithoutDataset = "REPRO108";
    public const string UnknownDataset = "REPRO109";
    public const string PretrainedNotFound = "REPRO110";
    public const string DatasetWithoutKind = "REPRO111";
    public const string DatasetWithoutRoot = "REPRO112";
    public const string DatasetFolderNotFound = "REPRO113";
    public const string UnknownTutorial = "REPRO114";
    public const string CropBelowModelMinimum = "REPRO115";
    public const string NotMapping = "REPRO116";
    public const string KeyNotPlainWord = "REPRO117";
    public const string SplitOutOfRange = "REPRO118";
    public const string UnknownKey = "REPRO119";
    public const string NotStringList = "REPRO120";
    public const string NotSingleValue = "REPRO121";
    public const string WrongType = "REPRO122";
    public const string OutOfRange = "REPRO123";
    public const string NotAChoice = "REPRO124";
    public const string BadSeeds = "REPRO125";
    public const string SwitchWithoutItsSetting = "REPRO126";
    public const string BadIntList = "REPRO127";
    public const string PortableNeedsCpu = "REPRO128";

    // 13x: selecting experiments.
    public const string NoSuchExperiment = "REPRO130";
    public const string NoSuchSelection = "REPRO131";
    public const string SetItemNotKeyValue = "REPRO132";
    public const string SetKeyRepeated = "REPRO133";

    // 14x: matrix entries of experiments.yaml (their combinations report the codes above).
    public const string MatrixAxisEmpty = "REPRO140";
    public const string TemplateKeyNotAxis = "REPRO141";
    public const string NotAnAxis = "REPRO142";
    public const string ExcludeMatchesNothing = "REPRO143";
    public const string IncludeIncomplete = "REPRO144";

    // 2xx: running stages.
    public const string StageFailed = "REPRO200";
    public const string ExperimentLocked = "REPRO201";
    public const string SlurmTaskFailed = "REPRO210";
    public const string SlurmUnreachable = "REPRO211";
    public const string UnknownScheduler = "REPRO212";

    // 3xx: results, the lock, diffs and the PyTorch twin.
    public const string NoCompleteResult = "REPRO300";
    public const string BadLockPlatform = "REPRO302";
    public const string UnreadableResult = "REPRO303";
    public const string PartNotLockable = "REPRO304";
    public const string BadLockSeeds = "REPRO305";
    public const string NoLockFile = "REPRO310";
    public const string ResultsDiffer = "REPRO311";
    public const string TooFewLockedSeeds = "REPRO312";
    public const string BadVerifySeeds = "REPRO313";
    public const string BadShowOption = "REPRO314";
    public const string GitShowFailed = "REPRO320";
    public const string UnreadableSnapshot = "REPRO321";
    public const string NoResultForTwin = "REPRO330";
    public const string TwinFailed = "REPRO331";

    // 4xx: documentation rendered from the code.
    public const string ReferenceNotRenderable = "REPRO400";

    /// <summary>The catalogue, in code order.</summary>
    public static IReadOnlyList<ErrorCode> All { get; } =
    [
        new(PatchFailed, "libLibTorchSharp.so in a build output could not be patched to load on this system's libstdc++",
            "cannot patch libLibTorchSharp.so: Access to the path is denied."),
        new(ConfigNotFound, "experiments.yaml does not exist", "file not found"),
        new(YamlSyntax, "experiments.yaml, or a value of -p:Set, is not valid YAML", "YAML syntax error: While scanning a plain scalar value, found invalid mapping."),
        new(FileNotMapping, "the file's top level is not a mapping of keys",
            "the file must be a mapping with 'experiments:' (and optionally 'defaults:' and 'datasets:')"),
        new(ExperimentsNotList, "'experiments:' has a value that is not a list",
            "'experiments' must be a list of experiments (each item starts with '- name:')"),
        new(NoExperimentsList, "the file has no 'experiments:' key", "no 'experiments:' list"),
        new(ExperimentWithoutName, "an experiment has no 'name'", "an experiment needs a 'name'"),
        new(NameNotFolderName, "an experiment's name cannot be a folder name, or holds the '@' of variant names",
            "experiment name 'a b' must be usable as a folder name (no spaces, ';' or '/')"),
        new(DuplicateName, "two experiments have the same name", "duplicate experiment name 'a' (first defined on line 6)"),
        new(ExperimentWithoutDataset, "an experiment names no dataset, in itself or in 'defaults:'",
            "experiment 'a' needs a 'dataset' (one of: sample)"),
        new(UnknownDataset, "an experiment's 'dataset' is not defined under 'datasets:'",
            "unknown dataset 'sampel'; did you mean 'sample'? (defined: sample)"),
        new(PretrainedNotFound, "the 'pretrained' weights file does not exist", "pretrained weights not found: /data/weights/missing.pth"),
        new(DatasetWithoutKind, "a dataset has no 'kind'", "dataset 'sample' needs a 'kind' (imagefolder, flower, oxford-pet, cifar10, idx)"),
        new(DatasetWithoutRoot, "a dataset has no 'root'", "dataset 'sample' needs a 'root' folder"),
        new(DatasetFolderNotFound, "a dataset's 'root' folder does not exist and 'download' is off",
            "dataset 'sample': folder not found: /data/nowhere (set 'download: true' to fetch it)"),
        new(UnknownTutorial, "'tutorial' names no result of the tutorial",
            "unknown tutorial result 'flower-resnet'; did you mean 'flower-resnet50'?"),
        new(CropBelowModelMinimum, "'crop' is below the model's minimum input size (its feature map would be empty)",
            "crop 28 is too small for densenet121 (minimum 29): its feature map would be empty after 'features.transition3.pool' (2x2, stride 2, padding 0; 1x1 in)"),
        new(NotMapping, "'defaults:', 'datasets:', a dataset, an experiment, 'matrix:' or an include/exclude item is not a mapping of 'key: value' lines (or 'include:'/'exclude:' not a list of them)",
            "defaults must be a mapping of 'key: value' lines"),
        new(KeyNotPlainWord, "a key is a list or a mapping instead of a word", "a key must be a plain word, not a list or mapping"),
        new(SplitOutOfRange, "a 'split' fraction is not strictly between 0 and 1", "'split' must be between 0 and 1 (exclusive), not 1.5"),
        new(UnknownKey, "a key that is not in the schema at that level", "unknown key 'epoch'; did you mean 'epochs'?"),
        new(NotStringList, "a list-of-strings key (such as 'tags') has another value", "'tags' must be a list of strings"),
        new(NotSingleValue, "a single-valued key has a list or a mapping", "'augment' must be a single value, not a list"),
        new(WrongType, "a value is not of its key's type", "'epochs' must be a whole number, not 'two'"),
        new(OutOfRange, "a number is outside its key's range", "'lr' must be between 0 and 10, not 20"),
        new(NotAChoice, "a value is not one of its key's choices", "'model' must be one of resnet50, densenet121, not 'resnet51'; did you mean 'resnet50'?"),
        new(BadSeeds, "'seeds' is neither a count nor a non-empty list of distinct seeds", "seed 1 is listed twice in 'seeds'"),
        new(SwitchWithoutItsSetting, "a switch (a tutorial-faithful one, or cache_features) is set without the setting it works on, so it would do nothing",
            "'frozen_bn_train' needs 'freeze: backbone' (it leaves a frozen backbone's BatchNorm layers in training mode)"),
        new(BadIntList, "a list of whole numbers (such as 'classes') is empty, has a non-number or repeats one",
            "5 is listed twice in 'classes'"),
        new(PortableNeedsCpu, "'numerics: portable' is set with a device other than cpu (it pins CPU kernels)",
            "'numerics: portable' needs 'device: cpu' (it pins the CPU's kernels; CUDA results depend on the GPU), not 'auto'"),
        new(NoSuchExperiment, "the host was given an experiment name that experiments.yaml does not define",
            "no experiment named 'sample-resnet5' (defined: sample-resnet50, sample-densenet121)"),
        new(NoSuchSelection, "-p:Experiment names no experiment and no tag", "no experiment or tag named 'quik'; did you mean 'quick'?"),
        new(SetItemNotKeyValue, "an item of -p:Set is not key=value", "'lr' is not key=value (such as lr=0.002; separate settings with ';' and quote the whole property)"),
        new(SetKeyRepeated, "-p:Set sets the same key twice", "'lr' is set twice"),
        new(MatrixAxisEmpty, "'matrix:' has no axes, or an axis is not a non-empty list of values (nor a non-empty mapping of labelled settings)",
            "axis 'model' is empty: list at least one value"),
        new(TemplateKeyNotAxis, "a '{key}' in a matrix entry's name or text values is not one of its axes",
            "'{datset}' in 'name' is not an axis of this matrix (axes: dataset, model)"),
        new(NotAnAxis, "an 'exclude:' item names a key that is not an axis of its matrix",
            "'exclude' names 'epochs', which is not an axis of this matrix (axes: dataset, model)"),
        new(ExcludeMatchesNothing, "an 'exclude:' item matches no combination of its matrix",
            "this 'exclude' item matches no combination of the matrix (check its values against the axes')"),
        new(IncludeIncomplete, "an 'include:' item matches no combination and cannot add one: it misses an axis, or gives a labelled axis an unknown label",
            "this 'include' item matches no combination, so it adds one, which needs a value for every axis: 'model' is missing"),
        new(StageFailed, "a stage's host process failed or was killed",
            "experiment 'a' failed in stage 'train': the host process was killed by SIGFPE (arithmetic fault in native code) (exit code 136)"),
        new(ExperimentLocked, "another build is running the same experiment",
            "experiment 'a' is being run by another build (lock artifacts/experiments/a/.lock held for over 30 s); try again when it finishes"),
        new(SlurmTaskFailed, "a Slurm task running a stage ended without completing",
            "experiment 'a' failed in stage 'train' on Slurm job 42 (CANCELLED); log: artifacts/experiments/a/slurm/log.txt"),
        new(SlurmUnreachable, "Slurm did not answer, or refused a submission",
            "experiment 'a': Slurm did not answer about its job 42 (connection refused); is the cluster reachable from here (sinfo)?"),
        new(UnknownScheduler, "-p:ReproScheduler is neither local nor slurm", "-p:ReproScheduler must be local or slurm, not 'pbs'"),
        new(NoCompleteResult, "a run that should have a result has no metrics.json",
            "experiment 'a' has no complete result in artifacts/experiments/a (metrics.json missing)"),
        new(BadLockPlatform, "-p:ReproLockPlatform is neither 'add' nor empty", "-p:ReproLockPlatform must be 'add' or empty, not 'replace'"),
        new(UnreadableResult, "a run's result cannot be read: metrics.json or the run stamp beside it is malformed or missing",
            "artifacts/experiments/a/stamps/run.json: run stamp missing beside artifacts/experiments/a/metrics.json; run the experiment again to record what produced it."),
        new(PartNotLockable, "-p:ReproLockSeeds ran part of a sweep that the lock does not hold with the same settings",
            "a: only 1 of its 5 seeds ran (-p:ReproLockSeeds), and experiments.lock.json has no entry for it: part of a sweep is recorded only beside a locked entry whose settings it shares. …"),
        new(BadLockSeeds, "-p:ReproLockSeeds is not a number of seeds", "-p:ReproLockSeeds must be a number of seeds (1, 2, …), not 'first'"),
        new(NoLockFile, "verifying without a committed lock file", "no lock file: run 'dotnet build -t:RunExperiments' and commit it"),
        new(ResultsDiffer, "re-running gave results other than the locked ones", "re-running differs from the locked results: (a table of the differences)"),
        new(TooFewLockedSeeds, "this platform is not in the lock and the lock has too few seeds for a statistical check",
            "a: this machine's numerics platform … is not in the lock, and the lock holds 1 seed(s) of 'a' …: too few for a statistical check (at least 3) …"),
        new(BadVerifySeeds, "-p:ReproVerifySeeds is neither first, all nor a count of seeds", "-p:ReproVerifySeeds must be first, all or a number of seeds (1, 2, …), not 'some'"),
        new(BadShowOption, "-p:ReproShowFormat or -p:Sort of ShowExperiments has a value it does not know", "-p:Sort must be name or a metric (accuracy, loss, macro_f1, top5_accuracy, correct, images), not 'acc'"),
        new(GitShowFailed, "reading the lock file at a git revision failed", "git show origin/main:./results/experiments.lock.json failed: fatal: invalid object name 'origin/main'."),
        new(UnreadableSnapshot, "a committed results snapshot cannot be read", "unreadable results snapshot: '}' is invalid after a value."),
        new(NoResultForTwin, "a PyTorch twin was asked for an experiment without a Repro result", "a: no Repro result in artifacts/experiments/a"),
        new(TwinFailed, "the PyTorch twin script failed", "a: the PyTorch twin failed (exit code 1): ModuleNotFoundError: No module named 'torch'"),
        new(ReferenceNotRenderable, "docs/reference.md is missing, or lacks the markers around a generated table",
            "docs/reference.md: the markers of the generated table 'error-codes' are missing (…): put them back around the table"),
    ];

    /// <summary>The entry for <paramref name="code"/>, or null when the catalogue has none.</summary>
    public static ErrorCode? Find(string code) => All.FirstOrDefault(e => e.Code == code);

    /// <summary>docs/reference.md's table: code | meaning | example.</summary>
    public static string MarkdownTable()
    {
        var table = new StringBuilder();
        table.Append("| code | meaning | example |\n|---|---|---|\n");
        foreach (var e in All)
            table.Append($"| {e.Code} | {Cell(e.Meaning)} | `{Cell(e.Example)}` |\n");
        return table.ToString();
    }

    // A '|' would end the cell, even inside a code span.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
