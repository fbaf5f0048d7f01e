using Repro.Config;

namespace Repro.Core.Data;

/// <summary>Makes a configured dataset root exist: as it is, or fetched from the official sources.</summary>
public static class DatasetRoots
{
    /// <summary>
    /// Returns <paramref name="root"/> when it exists. Otherwise, with <paramref name="download"/>, fetches the
    /// official archives into its parent folder (the root's folder name must be the one the archives unpack to,
    /// e.g. <c>flower_photos</c>, <c>oxford-iiit-pet</c>, <c>cifar-10-batches-bin</c>, <c>fashion-mnist</c>).
    /// </summary>
    public static string Ensure(DatasetKind kind, string root, bool download, Action<string>? log = null)
    {
        string full = Path.GetFullPath(root);
        if (Directory.Exists(full) || !download)
            return full;
        var source = Downloads.Official(kind);
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(full));
        if (!string.Equals(name, source.RootFolder, StringComparison.Ordinal))
            throw new DataException(full, $"cannot download into this folder: the official {Choice.Name(kind)} archives unpack to '{source.RootFolder}/', so set root to a folder named '{source.RootFolder}'.");
        string parent = Path.GetDirectoryName(full)!;
        log?.Invoke($"downloading {Choice.Name(kind)} into {parent} ({string.Join(", ", source.Files.Select(f => f.FileName))})");
        using var http = new HttpClient { Timeout = TimeSpan.FromHours(2) };
        return Downloads.FetchAsync(source, parent, http).GetAwaiter().GetResult();
    }
}
