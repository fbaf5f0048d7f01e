using Repro.Core.Engine;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// A convolution whose output goes straight into a <see cref="BatchNorm2d"/>. Normally both modules run through
/// <c>call</c> (forward hooks see them, so model summaries keep their rows). While <see cref="BatchNormFolding.Fold"/>
/// holds the model and both modules are in evaluation mode, one convolution runs instead, whose weight and bias
/// absorb the BatchNorm's running statistics and affine parameters: PyTorch's <c>fuse_conv_bn_eval</c>
/// (torch/nn/utils/fusion.py). That saves a full read and write of the activation per pair.
/// </summary>
/// <remarks>
/// The folded weights are a copy: the module's parameters, buffers and state_dict are never touched, and training
/// (or a BatchNorm in training mode, e.g. an unfrozen layer) always takes the two-module path with gradients.
/// </remarks>
public sealed class ConvBn(Conv2d conv, BatchNorm2d bn)
{
    private Tensor? weight;
    private Tensor? bias;

    /// <summary>bn(conv(x)), as one folded convolution when folded and evaluating.</summary>
    public Tensor Forward(Tensor x)
    {
        if (weight is not null && !conv.training && !bn.training)
            return functional.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups);
        return conv.call(x).Then(bn.call);
    }

    internal void Fold(bool channelsLast)
    {
        Unfold();
        if (bn.running_mean is null || bn.running_var is null || conv.padding is null)
            throw new InvalidOperationException("only a BatchNorm2d with running statistics after a zero-padded convolution with explicit padding can be folded.");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var s = new HeldScalars();
        // fuse_conv_bn_weights: scale = gamma / sqrt(var + eps); w' = w * scale (per output channel);
        // b' = (b - mean) * scale + beta.
        var scale = bn.running_var.add(s.Of(bn.eps), s.Of(1)).rsqrt_();
        if (bn.weight is not null)
            scale.mul_(bn.weight);
        var w = conv.weight!.detach().mul(scale.reshape(-1, 1, 1, 1));
        var b = (conv.bias is null ? bn.running_mean.neg() : conv.bias.detach().sub(bn.running_mean)).mul_(scale);
        if (bn.bias is not null)
            b.add_(bn.bias, s.Of(1));
        // With channels-last input, NHWC-strided weights spare oneDNN a weight reorder per call, as PyTorch's
        // model.to(memory_format=torch.channels_last) does; a copy for evaluation can take any strides, whereas the
        // parameters cannot (TorchSharp saves only contiguous tensors).
        weight = (channelsLast ? InputFormat.ToChannelsLast(w) : w).DetachFromDisposeScope();
        bias = b.DetachFromDisposeScope();
    }

    /// <summary>No parameter of the pair takes gradients: its folded weights stay valid while it trains (a frozen backbone).</summary>
    internal bool Frozen => conv.parameters().Concat(bn.parameters()).All(p => !p.requires_grad);

    /// <summary>Both modules are in evaluation mode, the only mode in which <see cref="Forward"/> runs the folded copy.</summary>
    internal bool Evaluating => !conv.training && !bn.training;

    internal void Unfold()
    {
        weight?.Dispose();
        bias?.Dispose();
        weight = null;
        bias = null;
    }
}

/// <summary>A module whose forward runs convolution-BatchNorm pairs through <see cref="ConvBn"/>.</summary>
public interface IHasConvBn
{
    /// <summary>This module's own pairs (not its children's).</summary>
    IEnumerable<ConvBn> ConvBnPairs { get; }
}

/// <summary>
/// Folds every convolution-BatchNorm pair of a model for evaluation (test stage, per-epoch validation) and unfolds
/// them on dispose. Numerics: the folded convolution sums in another order than convolution then normalisation, so
/// logits differ in the last bits (1e-5 relative); both are deterministic for a numerics platform.
/// </summary>
public sealed class BatchNormFolding : IDisposable
{
    private readonly List<ConvBn> pairs;

    private BatchNormFolding(List<ConvBn> pairs) => this.pairs = pairs;

    /// <summary>Folds the current weights; refold after they change (each evaluation does).</summary>
    /// <param name="channelsLast">The input is channels-last (<see cref="InputFormat.ChannelsLast"/>): the folded
    /// weights get NHWC strides too.</param>
    public static BatchNormFolding Fold(Module model, bool channelsLast = false) => Fold(Pairs(model).ToList(), channelsLast);

    /// <summary>
    /// Folds the pairs no gradient reaches (a frozen backbone's), for training: their weights and running statistics
    /// cannot change during an epoch, so the folded copy stays exact. A pair runs folded only while both modules are in
    /// evaluation mode, so under <c>frozen_bn_train</c> (BatchNorm in training mode, batch statistics) the pairs keep
    /// the two-module path and are not folded at all (a copy nothing would read: ResNet50's is about 94 MB). It spares
    /// a full read and write of each activation, as evaluation's folding does (docs/benchmarks.md). Call it after
    /// setting the modules' modes for the epoch.
    /// </summary>
    public static BatchNormFolding FoldFrozen(Module model, bool channelsLast = false) =>
        Fold(Pairs(model).Where(pair => pair.Frozen && pair.Evaluating).ToList(), channelsLast);

    private static IEnumerable<ConvBn> Pairs(Module model) =>
        new[] { model }.Concat(model.modules()).Distinct().OfType<IHasConvBn>().SelectMany(m => m.ConvBnPairs);

    private static BatchNormFolding Fold(List<ConvBn> pairs, bool channelsLast)
    {
        var folding = new BatchNormFolding(pairs);
        try
        {
            foreach (var pair in pairs)
                pair.Fold(channelsLast);
        }
        catch
        {
            folding.Dispose();
            throw;
        }
        return folding;
    }

    /// <summary>How many pairs were folded (ResNet50: 53, DenseNet121: 58).</summary>
    public int Count => pairs.Count;

    public void Dispose()
    {
        foreach (var pair in pairs)
            pair.Unfold();
    }
}
