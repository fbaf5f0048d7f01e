using Repro.Core.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// ResNet v1.5 after torchvision's <c>torchvision/models/resnet.py</c> (He et al., "Deep Residual Learning
/// for Image Recognition", 2015): the stride sits on the 3x3 convolution of the bottleneck.
/// </summary>
/// <remarks>
/// Field names equal torchvision's attribute names, so <c>state_dict()</c> keys equal those of torchvision's
/// checkpoints (<c>resnet50-19c8e357.pth</c>, <c>resnet50-0676ba61.pth</c>). Submodules are invoked through
/// <c>call</c> so forward hooks (model summaries) see every module as torchsummary does.
/// </remarks>
public sealed class ResNet : Module<Tensor, Tensor>, IClassifier, IHasConvBn
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly ReLU relu;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly AdaptiveAvgPool2d avgpool;
    private Module<Tensor, Tensor> fc;
    private readonly ConvBn stem;

    internal ResNet(string name, int[] layers, int numClasses) : base(name)
    {
        int inplanes = 64;
        conv1 = Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        bn1 = new BatchNorm2d(64);
        stem = new ConvBn(conv1, bn1);
        relu = ReLU(inplace: true);
        maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        layer1 = MakeLayer(ref inplanes, 64, layers[0], stride: 1);
        layer2 = MakeLayer(ref inplanes, 128, layers[1], stride: 2);
        layer3 = MakeLayer(ref inplanes, 256, layers[2], stride: 2);
        layer4 = MakeLayer(ref inplanes, 512, layers[3], stride: 2);
        avgpool = AdaptiveAvgPool2d(1);
        FeatureCount = 512 * Bottleneck.Expansion;
        fc = Linear(FeatureCount, numClasses);
        RegisterComponents();
        InitializeWeights();
    }

    /// <inheritdoc />
    public int FeatureCount { get; }

    /// <inheritdoc />
    public IEnumerable<ConvBn> ConvBnPairs => [stem];

    /// <inheritdoc />
    public string ClassifierName => nameof(fc);

    /// <inheritdoc />
    public Module<Tensor, Tensor> Classifier
    {
        get => fc;
        set => TorchvisionModules.ReplaceClassifier(this, nameof(fc), ref fc, value);
    }

    /// <summary>The residual blocks in forward order, named as in the state_dict (<c>layer1.0</c>, …).</summary>
    public IReadOnlyList<(string Name, Bottleneck Block)> Blocks =>
        new[] { ("layer1", layer1), ("layer2", layer2), ("layer3", layer3), ("layer4", layer4) }
            .SelectMany(l => l.Item2.named_children().Select(c => ($"{l.Item1}.{c.name}", (Bottleneck)c.module)))
            .ToList();

    /// <inheritdoc />
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = stem.Forward(x).Then(relu.call).Then(maxpool.call)
            .Then(layer1.call).Then(layer2.call).Then(layer3.call).Then(layer4.call).Then(avgpool.call);
        return flatten(y, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits for a batch (N, 3, H, W) -> (N, classes).</summary>
    public override Tensor forward(Tensor x) => fc.call(Features(x));

    /// <summary>The backbone's modules: everything but the classifier.</summary>
    public IEnumerable<Module> Backbone() => [conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool];

    private static Sequential MakeLayer(ref int inplanes, int planes, int blocks, int stride)
    {
        Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inplanes != planes * Bottleneck.Expansion)
        {
            // torchvision's Sequential(conv1x1 with stride, BatchNorm2d), with the stride taken by subsampling:
            // see Downsample for the oneDNN crash this avoids.
            downsample = new Downsample(inplanes, planes * Bottleneck.Expansion, stride);
        }
        var modules = new List<(string, Module<Tensor, Tensor>)> { ("0", new Bottleneck(inplanes, planes, stride, downsample)) };
        inplanes = planes * Bottleneck.Expansion;
        for (int i = 1; i < blocks; i++)
            modules.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), new Bottleneck(inplanes, planes, 1, null)));
        return Sequential(modules);
    }

    // torchvision: kaiming_normal_(fan_out, relu) for convolutions, BatchNorm weight 1 / bias 0.
    private void InitializeWeights() => TorchvisionModules.InitializeWeights(this,
        weight => init.kaiming_normal_(weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU), zeroLinearBias: false);
}

/// <summary>The bottleneck block of ResNet-50/101/152: 1x1 reduce, 3x3 (strided), 1x1 expand, plus shortcut.</summary>
public sealed class Bottleneck : Module<Tensor, Tensor>, IHasConvBn
{
    /// <summary>Output channels per bottleneck width (256 = 4 x 64 in the first stage).</summary>
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly ReLU relu;
    private readonly Module<Tensor, Tensor>? downsample;
    private readonly ConvBn[] pairs;

    /// <summary>A block reading <paramref name="inplanes"/> channels and writing <paramref name="planes"/> x 4; <paramref name="downsample"/> projects the shortcut when shapes change.</summary>
    public Bottleneck(int inplanes, int planes, int stride, Module<Tensor, Tensor>? downsample) : base(nameof(Bottleneck))
    {
        conv1 = Conv2d(inplanes, planes, kernel_size: 1, bias: false);
        bn1 = new BatchNorm2d(planes);
        conv2 = Conv2d(planes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn2 = new BatchNorm2d(planes);
        conv3 = Conv2d(planes, planes * Expansion, kernel_size: 1, bias: false);
        bn3 = new BatchNorm2d(planes * Expansion);
        relu = ReLU(inplace: true);
        this.downsample = downsample;
        pairs = [new(conv1, bn1), new(conv2, bn2), new(conv3, bn3)];
        RegisterComponents();
    }

    /// <summary>
    /// When set, the residual branch is removed and only the identity shortcut remains: the lesion study of
    /// Veit et al., "Residual Networks Behave Like Ensembles of Relatively Shallow Networks" (2016).
    /// </summary>
    public bool Lesioned { get; set; }

    /// <inheritdoc />
    public IEnumerable<ConvBn> ConvBnPairs => pairs;

    /// <summary>Whether the block can be lesioned: only blocks whose shortcut is the identity.</summary>
    public bool HasIdentityShortcut => downsample is null;

    /// <summary>relu(residual(x) + shortcut(x)), or x itself (as a new handle) when lesioned.</summary>
    public override Tensor forward(Tensor x)
    {
        // A new handle on the same storage: Sequential disposes each block's input once the block returns, so
        // returning x itself would hand the next block a disposed tensor (ReLU(inplace) does the same).
        if (Lesioned && downsample is null)
            return x.alias();
        // Each intermediate is released as soon as it has been read (Intermediates.Then), and the scope catches the
        // rest when the block returns; held to the caller's step scope instead, under no_grad every activation of
        // the network would live at once (3.3 GB instead of 1.0 GB for a 224x224 batch of 32).
        using var scope = NewDisposeScope();
        var y = pairs[0].Forward(x).Then(relu.call).Then(pairs[1].Forward).Then(relu.call).Then(pairs[2].Forward);
        // The shortcut runs after the residual branch, as in torchvision's Bottleneck.forward, so forward hooks
        // (torchsummary rows) fire in the same order as PyTorch's.
        var identity = downsample is null ? x : downsample.call(x);
        using var s = new HeldScalars();
        return relu.call(y.add_(identity, s.Of(1))).MoveToOuterDisposeScope();
    }
}
