namespace Repro.Config;

/// <summary>What a cross-field rule found wrong.</summary>
/// <param name="Keys">The keys whose values break the rule; the error points at the first of them that the entry
/// (or the command line) writes, or at the entry itself when they all come from <c>defaults:</c>.</param>
public sealed record RuleViolation(string Message, IReadOnlyList<string> Keys);

/// <summary>A check over an experiment's typed settings that no single key's type or range expresses.</summary>
/// <param name="Name">The rule's name, for tests and for people searching the code.</param>
/// <param name="Code">The REPROnnn code its violations carry.</param>
/// <param name="Check">The violation, or null; the string is experiments.yaml's folder (relative paths resolve there).</param>
public sealed record ExperimentRule(string Name, string Code, Func<ExperimentSpec, string, RuleViolation?> Check);

/// <summary>
/// The cross-field rules every experiment (written, expanded from a matrix, or a command-line variant) must pass after
/// each key has been read on its own. Each exists because the run would otherwise fail late without naming the setting,
/// or silently do something other than what the settings say.
/// </summary>
public static class ExperimentRules
{
    /// <summary>The rules, in the order their errors are reported for one experiment.</summary>
    public static IReadOnlyList<ExperimentRule> All { get; } =
    [
        new("pretrained-file-exists", ErrorCodes.PretrainedNotFound, PretrainedFileExists),
        new("crop-fits-model", ErrorCodes.CropBelowModelMinimum, CropFitsModel),
        new("frozen-bn-train-needs-frozen-backbone", ErrorCodes.SwitchWithoutItsSetting, FrozenBatchNormTrainNeedsFrozenBackbone),
        new("load-nonstrict-needs-pretrained", ErrorCodes.SwitchWithoutItsSetting, LoadNonStrictNeedsPretrained),
        new("test-augment-needs-augment", ErrorCodes.SwitchWithoutItsSetting, TestAugmentNeedsAugment),
        new("cache-features-needs-frozen-backbone", ErrorCodes.SwitchWithoutItsSetting, CacheFeaturesNeedsFrozenBackbone),
        new("tutorial-is-known", ErrorCodes.UnknownTutorial, TutorialIsKnown),
        new("portable-needs-cpu", ErrorCodes.PortableNeedsCpu, PortableNeedsCpu),
    ];

    /// <summary>Every rule <paramref name="experiment"/> breaks, with what it found.</summary>
    public static IEnumerable<(ExperimentRule Rule, RuleViolation Violation)> Violations(ExperimentSpec experiment, string baseDirectory) =>
        from rule in All
        let violation = rule.Check(experiment, baseDirectory)
        where violation is not null
        select (rule, violation);

    // A checkpoint under <config dir>/artifacts/ is generated on demand (the transfer twin's backbones,
    // scripts/pretrain-twin-backbone.py): a fresh checkout lacks it, which must not fail every other experiment.
    private static RuleViolation? PretrainedFileExists(ExperimentSpec e, string baseDirectory) =>
        e.Model.Pretrained is { } weights && weights != ModelSpec.ImageNetWeights && !File.Exists(weights)
        && !weights.StartsWith(Path.GetFullPath(Path.Combine(baseDirectory, "artifacts")) + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? new($"pretrained weights not found: {weights}", ["pretrained"])
            : null;

    // LibTorch would only fail inside training ("Output size is too small"), without naming the setting.
    private static RuleViolation? CropFitsModel(ExperimentSpec e, string _)
    {
        var model = e.Model.Architecture;
        if (ModelInput.Collapse(model, e.Input.Crop) is not { } collapse)
            return null;
        var (layer, input) = collapse;
        return new($"crop {e.Input.Crop} is too small for {Choice.Name(model)} (minimum {ModelInput.MinimumCrop(model)}): its feature map would be empty after " +
            $"'{layer.Name}' ({layer.Kernel}x{layer.Kernel}, stride {layer.Stride}, padding {layer.Padding}; {input}x{input} in)", ["crop", "model"]);
    }

    // The tutorial-faithful switches only mean something with what they change; set alone they would silently do nothing.
    private static RuleViolation? FrozenBatchNormTrainNeedsFrozenBackbone(ExperimentSpec e, string _) =>
        e.Model.FrozenBatchNormTrains && e.Model.Freeze != FreezeMode.Backbone
            ? new("'frozen_bn_train' needs 'freeze: backbone' (it leaves a frozen backbone's BatchNorm layers in training mode)", ["frozen_bn_train", "freeze"])
            : null;

    private static RuleViolation? LoadNonStrictNeedsPretrained(ExperimentSpec e, string _) =>
        e.Model.LoadNonStrict && e.Model.Pretrained is null
            ? new("'load_nonstrict' needs 'pretrained' (it changes how pretrained weights load)", ["load_nonstrict", "pretrained"])
            : null;

    private static RuleViolation? TestAugmentNeedsAugment(ExperimentSpec e, string _) =>
        e.Input.TestAugment && !e.Input.Augment
            ? new("'test_augment' needs 'augment: true' (it tests with the training transform, which is the evaluation one without augment)", ["test_augment", "augment"])
            : null;

    // Caching needs a backbone that stays the same for the whole training; the runner used to log this and train the
    // whole network instead, which a reader of experiments.yaml could not tell from the settings.
    private static RuleViolation? CacheFeaturesNeedsFrozenBackbone(ExperimentSpec e, string _) =>
        e.Training.CacheFeatures && e.Model.Freeze != FreezeMode.Backbone
            ? new("'cache_features' needs 'freeze: backbone' (it computes the frozen backbone's features once; a backbone that trains changes them every step)", ["cache_features", "freeze"])
            : null;

    private static RuleViolation? TutorialIsKnown(ExperimentSpec e, string _)
    {
        if (e.Tutorial.Length == 0 || TutorialFigure.Find(e.Tutorial) is not null)
            return null;
        var known = TutorialFigure.All.Select(t => t.Key).ToList();
        return new($"unknown tutorial result '{e.Tutorial}'" + SettingReader.Hint(Schema.Suggest(e.Tutorial, known)) + $" (known: {string.Join(", ", known)})", ["tutorial"]);
    }

    // The portable pins are CPU kernels; a CUDA run (or auto, which picks CUDA where it exists) would ignore them silently.
    private static RuleViolation? PortableNeedsCpu(ExperimentSpec e, string _) =>
        e.Runtime.Numerics == NumericsMode.Portable && e.Runtime.Device != DeviceChoice.Cpu
            ? new($"'numerics: portable' needs 'device: cpu' (it pins the CPU's kernels; CUDA results depend on the GPU), not '{Choice.Name(e.Runtime.Device)}'", ["numerics", "device"])
            : null;
}
