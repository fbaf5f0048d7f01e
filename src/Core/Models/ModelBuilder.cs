using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>A model as an experiment asked for it: architecture, head, freezing.</summary>
/// <param name="Module">The network (a <see cref="ResNet"/> or <see cref="DenseNet"/>, so also an <see cref="IClassifier"/>).</param>
/// <param name="Arch">Architecture name (<c>resnet50</c>, <c>densenet121</c>).</param>
/// <param name="FrozenBackbone">Whether only the head trains.</param>
/// <param name="Classifier">With a pretrained checkpoint, where the classifier came from, for the report
/// ("classifier from the checkpoint (fc, 10 classes)" or "new head: …; checkpoint's 1000-class fc dropped"); else null.</param>
public sealed record BuiltModel(nn.Module<Tensor, Tensor> Module, string Arch, bool FrozenBackbone, string? Classifier = null) : IDisposable
{
    /// <summary>Tutorial-faithful (<c>frozen_bn_train</c>): a frozen backbone still goes to training mode with the head,
    /// so its BatchNorm running statistics drift on the new data.</summary>
    public bool FrozenBatchNormTrains { get; init; }

    /// <summary>With a non-strict load (<c>load_nonstrict</c>), what it skipped; null after a strict load or without weights.</summary>
    public NonStrictLoad? NonStrict { get; init; }

    /// <summary>The parameters the optimizer should update (<c>requires_grad</c>); call after moving the model to its device.</summary>
    public IReadOnlyList<Parameter> TrainableParameters() => Module.parameters().Where(p => p.requires_grad).ToList();

    /// <summary>Switches to training or evaluation mode, keeping a frozen backbone in evaluation mode.</summary>
    public void SetTrainingMode(bool training) => ModelBuilder.SetTrainingMode(Module, training, FrozenBackbone && !FrozenBatchNormTrains);

    /// <inheritdoc />
    public void Dispose() => Module.Dispose();
}

/// <summary>Builds the models experiments describe: architecture, pretrained weights, head and freezing.</summary>
public static class ModelBuilder
{
    /// <summary>The freezing modes: <c>none</c> (fine-tune everything) and <c>backbone</c> (only the head trains).</summary>
    public static IReadOnlyList<string> FreezeModes { get; } = ["none", "backbone"];

    /// <summary>
    /// Builds <paramref name="arch"/> with head <paramref name="head"/> for <paramref name="numClasses"/> classes.
    /// With <paramref name="pretrainedPath"/>, a checkpoint of the architecture with a classifier of any size (or
    /// none): the backbone loads strictly (see <see cref="Checkpoint.Load(nn.Module, IReadOnlyDictionary{string, Tensor}, string, string?)"/>);
    /// the checkpoint's classifier is kept when it is exactly the head asked for (<c>linear</c> with
    /// <paramref name="numClasses"/> outputs), otherwise it is dropped and the head built fresh.
    /// </summary>
    /// <param name="arch"><c>resnet50</c> or <c>densenet121</c>.</param>
    /// <param name="numClasses">Number of classes of the experiment's dataset.</param>
    /// <param name="head"><c>linear</c> or <c>seed</c> (see <see cref="Heads"/>).</param>
    /// <param name="freeze"><c>none</c> or <c>backbone</c>: <c>requires_grad</c> false on every parameter outside the head.</param>
    /// <param name="pretrainedPath">A torchvision checkpoint (ImageNet's or a user's, any class count), or null for random initialisation.</param>
    /// <param name="strict">False: the tutorial's <c>load_state_dict(strict=False)</c>, without renaming legacy DenseNet keys
    /// (see <see cref="Checkpoint.LoadNonStrict"/>); what it skipped is in <see cref="BuiltModel.NonStrict"/> and the origin text.</param>
    /// <param name="frozenBatchNormTrains">Tutorial-faithful: a frozen backbone's BatchNorm layers train-mode with the head (see <see cref="BuiltModel.FrozenBatchNormTrains"/>).</param>
    public static BuiltModel Build(string arch, int numClasses, string head, string freeze, string? pretrainedPath, bool strict = true, bool frozenBatchNormTrains = false)
    {
        if (!Heads.Names.Contains(head))
            throw new ArgumentException($"unknown head '{head}' (known: {string.Join(", ", Heads.Names)})", nameof(head));
        if (!FreezeModes.Contains(freeze))
            throw new ArgumentException($"unknown freeze mode '{freeze}' (known: {string.Join(", ", FreezeModes)})", nameof(freeze));

        // With weights the 1000-class model is built first, whatever the checkpoint holds: the random stream then
        // reaches a new head in the same state as it always did, so the new head's initial weights (and every
        // locked result of a pretrained experiment) do not depend on the checkpoint's classifier size.
        var model = Zoo.Create(arch, pretrainedPath is null ? numClasses : ImageNetClasses);
        try
        {
            var classifier = (IClassifier)model;
            string? origin = null;
            NonStrictLoad? skipped = null;
            if (pretrainedPath is not null)
            {
                // A non-strict load renames nothing: PyTorch's load_state_dict(strict=False) does not either, which is how
                // the tutorial's DenseNet lost its legacy-named weights (torchvision renames them only in densenet._load_state_dict).
                var loaded = Checkpoint.ReadFile(pretrainedPath, model is DenseNet && strict ? DenseNet.UpgradeLegacyKey : null);
                try
                {
                    (origin, skipped) = LoadPretrained(model, classifier, arch, numClasses, head, loaded, pretrainedPath, strict);
                }
                finally
                {
                    foreach (var tensor in loaded.Values)
                        tensor.Dispose();
                }
            }
            else if (head != "linear")
            {
                // Without weights, a linear head keeps the architecture's own classifier and its torchvision initialisation.
                Replace(classifier, Heads.Create(head, arch, classifier.FeatureCount, numClasses));
            }
            bool frozen = freeze == "backbone";
            if (frozen)
                FreezeBackbone(model);
            return new BuiltModel(model, arch, frozen, origin) { FrozenBatchNormTrains = frozenBatchNormTrains, NonStrict = skipped };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private const int ImageNetClasses = 1000;

    /// <summary>Loads a checkpoint's backbone strictly, keeps or replaces its classifier, and says which for the report.</summary>
    private static (string Origin, NonStrictLoad? Skipped) LoadPretrained(nn.Module<Tensor, Tensor> model, IClassifier classifier, string arch, int numClasses, string head,
        IReadOnlyDictionary<string, Tensor> loaded, string path, bool strict)
    {
        string name = classifier.ClassifierName;
        string prefix = name + ".";
        var fileClassifier = loaded.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Key[prefix.Length..], e => e.Value);
        // A linear classifier is exactly {weight (classes, features), bias (classes)}; anything else is described by its keys.
        int? fileClasses = fileClassifier.Count == 2 && fileClassifier.TryGetValue("weight", out var w) && fileClassifier.TryGetValue("bias", out var b)
            && w.shape.Length == 2 && w.shape[1] == classifier.FeatureCount && b.shape.SequenceEqual([w.shape[0]])
            ? checked((int)w.shape[0]) : null;

        if (head == "linear" && fileClasses == numClasses)
        {
            if (numClasses != ImageNetClasses)
                Replace(classifier, Heads.Create("linear", arch, classifier.FeatureCount, numClasses));
            var all = LoadChecked(model, loaded, path, strict, null);
            return ($"classifier from the checkpoint ({name}, {numClasses} classes)" + (all is null ? "" : "; " + all.Describe()), all);
        }

        var backbone = LoadChecked(model, loaded, path, strict, prefix);
        Replace(classifier, Heads.Create(head, arch, classifier.FeatureCount, numClasses));
        string headName = head == "seed" ? "seed MLP" : head;
        string dropped = fileClasses is { } n ? $"checkpoint's {n}-class {name} dropped"
            : fileClassifier.Count == 0 ? "the checkpoint has no classifier"
            : $"checkpoint's {name} ({string.Join(", ", fileClassifier.Keys.Order(StringComparer.Ordinal))}) dropped";
        return ($"new head: {headName}, {numClasses} classes; {dropped}" + (backbone is null ? "" : "; " + backbone.Describe()), backbone);
    }

    /// <summary>Strict <see cref="Checkpoint.Load(nn.Module, IReadOnlyDictionary{string, Tensor}, string, string?)"/> (null), or the tutorial's non-strict load and what it skipped.</summary>
    private static NonStrictLoad? LoadChecked(nn.Module model, IReadOnlyDictionary<string, Tensor> loaded, string path, bool strict, string? excludedPrefix)
    {
        if (!strict)
            return Checkpoint.LoadNonStrict(model, loaded, path, excludedPrefix);
        Checkpoint.Load(model, loaded, path, excludedPrefix);
        return null;
    }

    private static void Replace(IClassifier classifier, nn.Module<Tensor, Tensor> head)
    {
        var old = classifier.Classifier;
        classifier.Classifier = head;
        old.Dispose();
    }

    /// <summary>Sets <c>requires_grad</c> false on every parameter outside the classifier head.</summary>
    public static void FreezeBackbone(nn.Module<Tensor, Tensor> model)
    {
        string prefix = ((IClassifier)model).ClassifierName + ".";
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
                parameter.requires_grad = false;
        }
    }

    /// <summary>
    /// <c>model.train(training)</c>, except that a frozen backbone always stays in evaluation mode: otherwise its
    /// BatchNorm layers would keep updating their running statistics from the new data while their weights stay
    /// fixed (the tutorial's flaw). Call this instead of <c>train()</c>/<c>eval()</c>.
    /// </summary>
    public static void SetTrainingMode(nn.Module<Tensor, Tensor> model, bool training, bool frozenBackbone)
    {
        model.train(training);
        if (!training || !frozenBackbone)
            return;
        string head = ((IClassifier)model).ClassifierName;
        foreach (var (name, child) in model.named_children())
        {
            if (name != head)
                child.eval();
        }
    }
}
