namespace Repro.Core.Data;

/// <summary>Opens a dataset by kind.</summary>
public static class Datasets
{
    /// <summary>The kinds <see cref="Open"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["imagefolder", "flower", "oxford-pet", "cifar10", "idx"];

    /// <param name="kind">"imagefolder" | "flower" (an image-folder tree) | "oxford-pet" | "cifar10" | "idx".</param>
    public static ImageDataset Open(string kind, string root, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(root);
        ImageDataset dataset = kind.ToLowerInvariant() switch
        {
            "imagefolder" or "flower" => new ImageFolderDataset(root, options),
            "oxford-pet" => new OxfordPetDataset(root, options),
            "cifar10" => new Cifar10Dataset(root),
            "idx" => new IdxDataset(root, options),
            _ => throw new ArgumentException($"Unknown dataset kind '{kind}'; expected one of: {string.Join(", ", Kinds)}.", nameof(kind)),
        };
        return options?.KeepClasses is { } keep ? new ClassSubsetDataset(dataset, keep) : dataset;
    }
}
