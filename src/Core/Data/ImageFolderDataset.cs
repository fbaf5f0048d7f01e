namespace Repro.Core.Data;

/// <summary>
/// One folder per class, as torchvision's <c>ImageFolder</c> (torchvision/datasets/folder.py
/// <c>find_classes</c> and <c>make_dataset</c>): classes are the sub-folders sorted by name, label = position,
/// files are found recursively and sorted. TensorFlow's <c>flower_photos</c> is such a tree (its LICENSE.txt
/// at the root is not a class). Sorting is ordinal, so it does not depend on the OS or culture.
/// </summary>
public sealed class ImageFolderDataset : FileImageDataset
{
    /// <summary>Extensions SkiaSharp decodes (torchvision also lists ppm/pgm/tif, which Skia cannot read).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".jpg", ".jpeg", ".png", ".bmp", ".webp"];

    public ImageFolderDataset(string root, DatasetOptions? options = null) : base(root)
    {
        if (!Directory.Exists(Root))
        {
            throw new DataException(Root, "dataset folder not found.");
        }
        var classes = Directory.GetDirectories(Root).Select(Path.GetFileName).OfType<string>()
            .Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
        {
            throw new DataException(Root, "no class folders: expected one sub-folder of images per class.");
        }
        var samples = new List<Sample>();
        for (var label = 0; label < classes.Length; label++)
        {
            var dir = Path.Combine(Root, classes[label]);
            var files = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Select(f => Relative(Root, f))
                .Order(StringComparer.Ordinal)
                .ToArray();
            if (files.Length == 0)
            {
                throw new DataException(dir, $"class folder '{classes[label]}' has no images (expected files ending in {string.Join(", ", Extensions)}).");
            }
            samples.AddRange(files.Select(f => new Sample(f, label)));
        }
        Classes = classes;
        Samples = Filter(samples, options);
    }

    public override IReadOnlyList<string> Classes { get; }

    public override IReadOnlyList<Sample> Samples { get; }

    public override DatasetSplit? OfficialSplit => null;
}
