using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>An image classifier split into a backbone (feature extractor) and a replaceable classifier head.</summary>
public interface IClassifier
{
    /// <summary>Width of the pooled feature vector the head receives (2048 for ResNet50, 1024 for DenseNet121).</summary>
    int FeatureCount { get; }

    /// <summary>The head's name in the state_dict (<c>fc</c> for ResNet, <c>classifier</c> for DenseNet).</summary>
    string ClassifierName { get; }

    /// <summary>The head; setting it registers the new module under <see cref="ClassifierName"/>.</summary>
    nn.Module<Tensor, Tensor> Classifier { get; set; }

    /// <summary>Pooled, flattened backbone features for a batch (N, 3, H, W) -> (N, FeatureCount).</summary>
    Tensor Features(Tensor x);
}
