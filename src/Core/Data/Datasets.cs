using Repro.Config;

namespace Repro.Core.Data;

/// <summary>Opens a dataset by kind.</summary>
public static class Datasets
{
    public static ImageDataset Open(DatasetKind kind, string root, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ImageDataset dataset = kind switch
        {
            DatasetKind.ImageFolder or DatasetKind.Flower => new ImageFolderDataset(root, options),
            DatasetKind.OxfordPet => new OxfordPetDataset(root, options),
            DatasetKind.Cifar10 => new Cifar10Dataset(root),
            DatasetKind.Idx => new IdxDataset(root, options),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        return options?.KeepClasses is { } keep ? new ClassSubsetDataset(dataset, keep) : dataset;
    }
}
