using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// DenseNet-BC after torchvision's <c>torchvision/models/densenet.py</c> (Huang et al., "Densely Connected
/// Convolutional Networks", 2017): BN-ReLU-Conv1x1-BN-ReLU-Conv3x3 dense layers whose output is concatenated
/// to their input, transitions BN-ReLU-Conv1x1-AvgPool2x2 with compression 0.5, a final BN, ReLU and global
/// average pool. TorchVision for .NET has no DenseNet, hence this port.
/// </summary>
/// <remarks>
/// State_dict keys equal torchvision's (<c>features.denseblock1.denselayer1.norm1.weight</c>, …) so its
/// checkpoints load strictly. Unlike torchvision, each <see cref="DenseLayer"/> returns the concatenation of its
/// input and its new features and the blocks and transitions are plain <see cref="Sequential"/>s: that is the
/// design of the tutorial's model, whose torchsummary table (DenseLayer rows with the concatenated width, no
/// block or transition rows) Repro reproduces row for row. The arithmetic is the same as torchvision's.
/// </remarks>
public sealed class DenseNet : Module<Tensor, Tensor>, IClassifier
{
    private readonly Sequential features;
    private Module<Tensor, Tensor> classifier;

    internal DenseNet(string name, int growthRate, int[] blockConfig, int numInitFeatures, int bnSize, int numClasses)
        : base(name)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>
        {
            ("conv0", Conv2d(3, numInitFeatures, kernel_size: 7, stride: 2, padding: 3, bias: false)),
            ("norm0", new BatchNorm2d(numInitFeatures)),
            ("relu0", ReLU(inplace: true)),
            ("pool0", MaxPool2d(kernel_size: 3, stride: 2, padding: 1)),
        };
        int channels = numInitFeatures;
        for (int i = 0; i < blockConfig.Length; i++)
        {
            var block = new List<(string, Module<Tensor, Tensor>)>();
            for (int j = 0; j < blockConfig[i]; j++)
                block.Add(($"denselayer{j + 1}", new DenseLayer(channels + j * growthRate, growthRate, bnSize)));
            layers.Add(($"denseblock{i + 1}", Sequential(block)));
            channels += blockConfig[i] * growthRate;
            if (i != blockConfig.Length - 1)
            {
                // Compression 0.5 (DenseNet-BC): each transition halves the channel count.
                layers.Add(($"transition{i + 1}", Sequential(
                    ("norm", new BatchNorm2d(channels)),
                    ("relu", ReLU(inplace: true)),
                    ("conv", Conv2d(channels, channels / 2, kernel_size: 1, stride: 1, bias: false)),
                    ("pool", AvgPool2d(kernel_size: 2, stride: 2)))));
                channels /= 2;
            }
        }
        layers.Add(("norm5", new BatchNorm2d(channels)));
        features = Sequential(layers);
        FeatureCount = channels;
        classifier = Linear(channels, numClasses);
        RegisterComponents();
        InitializeWeights();
    }

    /// <inheritdoc />
    public int FeatureCount { get; }

    /// <inheritdoc />
    public string ClassifierName => nameof(classifier);

    /// <inheritdoc />
    public Module<Tensor, Tensor> Classifier
    {
        get => classifier;
        set => TorchvisionModules.ReplaceClassifier(this, nameof(classifier), ref classifier, value);
    }

    /// <inheritdoc />
    public Tensor Features(Tensor x)
    {
        // torchvision applies the final ReLU and pooling functionally, so they have no summary rows.
        using var scope = NewDisposeScope();
        var y = nn.functional.relu(features.call(x), inplace: true);
        return flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits for a batch (N, 3, H, W) -> (N, classes).</summary>
    public override Tensor forward(Tensor x) => classifier.call(Features(x));

    // torchvision/models/densenet.py `_load_state_dict`: the original checkpoints (densenet121-a639ec97.pth)
    // name the dense layers' modules `norm.1`, `relu.1`, `conv.1`, … (dots were allowed in names before
    // PyTorch 0.4); torchvision drops the dot when loading.
    private static readonly Regex LegacyKey = new(
        @"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
        RegexOptions.CultureInvariant);

    /// <summary>
    /// The current name of a state_dict key from torchvision's original DenseNet checkpoints
    /// (<c>…denselayer1.norm.1.weight</c> becomes <c>…denselayer1.norm1.weight</c>); other keys are returned as they are.
    /// </summary>
    public static string UpgradeLegacyKey(string key)
    {
        var m = LegacyKey.Match(key);
        return m.Success ? m.Groups[1].Value + m.Groups[2].Value : key;
    }

    // torchvision: kaiming_normal_ (fan_in, gain sqrt 2) for convolutions, BatchNorm weight 1 / bias 0,
    // Linear bias 0 (its weight keeps PyTorch's default initialisation).
    private void InitializeWeights() => TorchvisionModules.InitializeWeights(this, weight => init.kaiming_normal_(weight), zeroLinearBias: true);
}

/// <summary>
/// One DenseNet-BC layer: BN-ReLU-Conv1x1 (bottleneck to <c>bnSize</c> x growth) then BN-ReLU-Conv3x3 (growth
/// new feature maps), returned concatenated to the input along channels.
/// </summary>
public sealed class DenseLayer : Module<Tensor, Tensor>, IHasConvBn
{
    private readonly BatchNorm2d norm1;
    private readonly ReLU relu1;
    private readonly Conv2d conv1;
    private readonly BatchNorm2d norm2;
    private readonly ReLU relu2;
    private readonly Conv2d conv2;
    private readonly ConvBn bottleneck;

    /// <summary>A layer reading <paramref name="inputFeatures"/> channels and adding <paramref name="growthRate"/>.</summary>
    public DenseLayer(int inputFeatures, int growthRate, int bnSize) : base(nameof(DenseLayer))
    {
        norm1 = new BatchNorm2d(inputFeatures);
        relu1 = ReLU(inplace: true);
        conv1 = Conv2d(inputFeatures, bnSize * growthRate, kernel_size: 1, stride: 1, bias: false);
        norm2 = new BatchNorm2d(bnSize * growthRate);
        relu2 = ReLU(inplace: true);
        conv2 = Conv2d(bnSize * growthRate, growthRate, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bottleneck = new ConvBn(conv1, norm2);
        RegisterComponents();
    }

    /// <summary>The 1x1 bottleneck convolution and the BatchNorm after it (norm1 comes before a ReLU and a
    /// convolution, so it cannot be folded; neither can the transitions'). The stem's conv0/norm0 pair is left
    /// unfolded too: it runs once per image against 58 of these.</summary>
    public IEnumerable<ConvBn> ConvBnPairs => [bottleneck];

    /// <summary>(N, C, H, W) -> (N, C + growth, H, W).</summary>
    public override Tensor forward(Tensor x)
    {
        // Intermediates are released as soon as they have been read (see Bottleneck.forward).
        using var scope = NewDisposeScope();
        var y = norm1.call(x).Then(relu1.call).Then(bottleneck.Forward).Then(relu2.call).Then(conv2.call);
        return y.Then(features => cat([x, features], 1)).MoveToOuterDisposeScope();
    }
}
