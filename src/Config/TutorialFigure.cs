namespace Repro.Config;

/// <summary>
/// A figure the tutorial reports (pretrained, frozen backbone, 20 epochs), which an experiment names with its
/// <c>tutorial:</c> key. Here, beside the schema, so that reports and the build's results table share one copy.
/// </summary>
public sealed record TutorialFigure(string Key, string Dataset, string Model, double TestAccuracy, int Correct, int Total)
{
    /// <summary>The tutorial's six results.</summary>
    public static IReadOnlyList<TutorialFigure> All { get; } =
    [
        new("flower-resnet50", "Flower", "ResNet50", 0.9011, 328, 364),
        new("flower-densenet121", "Flower", "DenseNet121", 0.6429, 234, 364),
        new("pet-resnet50", "Oxford-IIIT Pet", "ResNet50", 0.8698, 521, 599),
        new("pet-densenet121", "Oxford-IIIT Pet", "DenseNet121", 0.1452, 87, 599),
        new("cifar10-resnet50", "CIFAR-10", "ResNet50", 0.6389, 6389, 10000),
        new("cifar10-densenet121", "CIFAR-10", "DenseNet121", 0.4223, 4223, 10000),
    ];

    /// <summary>The figure for a <c>tutorial:</c> value, or null.</summary>
    public static TutorialFigure? Find(string key) => All.FirstOrDefault(t => t.Key == key);
}
