using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>A model as an experiment asked for it: architecture, head, freezing.</summary>
/// <param name="Module">The network (a <see cref="ResNet"/> or <see cref="DenseNet"/>, so also an <see cref="IClassifier"/>).</param>
/// <param name="Arch">Architecture name (<c>resnet50</c>, <c>densenet121</c>).</param>
/// <param name="Head">Head name (<c>linear</c>, <c>seed</c>).</param>
/// <param name="FrozenBackbone">Whether only the head trains.</param>
public sealed record BuiltModel(nn.Module<Tensor, Tensor> Module, string Arch, string Head, bool FrozenBackbone) : IDisposable
{
    /// <summary>The parameters the optimizer should update (<c>requires_grad</c>); call after moving the model to its device.</summary>
    public IReadOnlyList<Parameter> TrainableParameters() => Module.parameters().Where(p => p.requires_grad).ToList();

    /// <summary>Switches to training or evaluation mode, keeping a frozen backbone in evaluation mode.</summary>
    public void SetTrainingMode(bool training) => ModelBuilder.SetTrainingMode(Module, training, FrozenBackbone);

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
    /// With <paramref name="pretrainedPath"/>, the ImageNet model (1000 classes) is built, the checkpoint loaded
    /// strictly (see <see cref="Checkpoint.Load"/>), and the ImageNet classifier then replaced by the head.
    /// </summary>
    /// <param name="arch"><c>resnet50</c> or <c>densenet121</c>.</param>
    /// <param name="numClasses">Number of classes of the experiment's dataset.</param>
    /// <param name="head"><c>linear</c> or <c>seed</c> (see <see cref="Heads"/>).</param>
    /// <param name="freeze"><c>none</c> or <c>backbone</c>: <c>requires_grad</c> false on every parameter outside the head.</param>
    /// <param name="pretrainedPath">A torchvision ImageNet checkpoint, or null for random initialisation.</param>
    public static BuiltModel Build(string arch, int numClasses, string head, string freeze, string? pretrainedPath)
    {
        if (!Heads.Names.Contains(head))
            throw new ArgumentException($"unknown head '{head}' (known: {string.Join(", ", Heads.Names)})", nameof(head));
        if (!FreezeModes.Contains(freeze))
            throw new ArgumentException($"unknown freeze mode '{freeze}' (known: {string.Join(", ", FreezeModes)})", nameof(freeze));

        var model = Zoo.Create(arch, pretrainedPath is null ? numClasses : 1000);
        try
        {
            var classifier = (IClassifier)model;
            if (pretrainedPath is not null)
                Checkpoint.Load(model, pretrainedPath, model is DenseNet ? DenseNet.UpgradeLegacyKey : null);
            // Without weights, a linear head keeps the architecture's own classifier and its torchvision initialisation.
            if (pretrainedPath is not null || head != "linear")
            {
                var old = classifier.Classifier;
                classifier.Classifier = Heads.Create(head, arch, classifier.FeatureCount, numClasses);
                old.Dispose();
            }
            bool frozen = freeze == "backbone";
            if (frozen)
                FreezeBackbone(model);
            return new BuiltModel(model, arch, head, frozen);
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
