using System.Globalization;

namespace Repro.Core.Data;

/// <summary>
/// Oxford-IIIT Pet in its official layout (https://www.robots.ox.ac.uk/~vgg/data/pets/): <c>images/*.jpg</c>
/// and <c>annotations/list.txt</c>, <c>trainval.txt</c>, <c>test.txt</c>, whose lines read
/// "<c>Image CLASS-ID SPECIES BREED-ID</c>" with CLASS-ID 1..37 ('#' starts a comment). Samples are the images
/// listed in list.txt (images/ also holds a few unlisted files, which are ignored). Class names follow
/// torchvision (torchvision/datasets/oxford_iiit_pet.py: "american_pit_bull_terrier" -> "American Pit Bull Terrier").
/// </summary>
public sealed class OxfordPetDataset : FileImageDataset
{
    public const int ClassCount = 37;

    public OxfordPetDataset(string root, DatasetOptions? options = null) : base(root)
    {
        var annotations = Path.Combine(Root, "annotations");
        var list = ReadList(Path.Combine(annotations, "list.txt"));
        var names = new string?[ClassCount];
        foreach (var (image, classId) in list)
        {
            names[classId - 1] ??= Title(image[..image.LastIndexOf('_')]);
        }
        for (var c = 0; c < ClassCount; c++)
        {
            if (names[c] is null)
            {
                throw new DataException(Path.Combine(annotations, "list.txt"), $"class id {c + 1} has no image: expected all {ClassCount} breeds.");
            }
        }
        Classes = names!;

        var candidates = list.Select(e => new Sample($"images/{e.Image}.jpg", e.ClassId - 1)).OrderBy(s => s.Path, StringComparer.Ordinal).ToArray();
        foreach (var s in candidates)
        {
            if (!File.Exists(Path.Combine(Root, s.Path)))
            {
                throw new DataException(Path.Combine(Root, s.Path), "image listed in annotations/list.txt is missing.");
            }
        }
        Samples = Filter(candidates, options);

        var split = options?.PetSplit ?? "official";
        if (split == "official")
        {
            var index = Samples.Select((s, i) => (s.Path, i)).ToDictionary(t => t.Path, t => t.i, StringComparer.Ordinal);
            int[] Part(string file) => ReadList(Path.Combine(annotations, file))
                .Select(e => $"images/{e.Image}.jpg").Where(index.ContainsKey).Select(p => index[p]).Order().ToArray();
            OfficialSplit = new DatasetSplit(Part("trainval.txt"), Part("test.txt"));
        }
        else if (split != "seeded")
        {
            throw new ArgumentException($"Unknown Oxford-IIIT Pet split '{split}': expected \"official\" or \"seeded\".", nameof(options));
        }
    }

    public override IReadOnlyList<string> Classes { get; }

    public override IReadOnlyList<Sample> Samples { get; }

    public override DatasetSplit? OfficialSplit { get; }

    private static List<(string Image, int ClassId)> ReadList(string path)
    {
        if (!File.Exists(path))
        {
            throw new DataException(path, "Oxford-IIIT Pet annotation file not found (expected images/ and annotations/ from images.tar.gz and annotations.tar.gz).");
        }
        var entries = new List<(string, int)>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1 || id > ClassCount || !f[0].Contains('_'))
            {
                throw new DataException(path, $"line {lineNo} '{line}': expected 'Image_N CLASS-ID ...' with CLASS-ID in 1..{ClassCount}.");
            }
            entries.Add((f[0], id));
        }
        return entries;
    }

    private static string Title(string raw) =>
        string.Join(' ', raw.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..].ToLowerInvariant()));
}
