using Repro.Config;
using Repro.Core.Data;

namespace Repro.Core.Models;

/// <summary>
/// torchvision's published ImageNet checkpoints, the files <c>pretrained=True</c> downloads (torchvision/models/resnet.py
/// and densenet.py, <c>model_urls</c>, up to torchvision 0.12), kept in PyTorch's own cache
/// (<c>$TORCH_HOME/hub/checkpoints</c>, default <c>~/.cache/torch/hub/checkpoints</c>) so that a user who has
/// run torchvision already has them. The file names carry the first 8 hex digits of the file's SHA-256,
/// which <see cref="Checkpoint.Load"/> checks.
/// </summary>
public static class PretrainedWeights
{
    private static readonly IReadOnlyDictionary<ModelKind, string> Files = new Dictionary<ModelKind, string>
    {
        [ModelKind.ResNet50] = "resnet50-19c8e357.pth",
        [ModelKind.DenseNet121] = "densenet121-a639ec97.pth",
    };

    /// <summary>The cache folder PyTorch uses for hub checkpoints.</summary>
    public static string CacheDirectory
    {
        get
        {
            string? torchHome = Environment.GetEnvironmentVariable("TORCH_HOME");
            if (string.IsNullOrEmpty(torchHome))
            {
                string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                string cache = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
                torchHome = Path.Combine(cache, "torch");
            }
            return Path.Combine(torchHome, "hub", "checkpoints");
        }
    }

    /// <summary>The local path of <paramref name="arch"/>'s ImageNet weights, downloaded on first use.</summary>
    public static string Resolve(ModelKind arch, Uri? mirror = null, Action<string>? log = null)
    {
        if (!Files.TryGetValue(arch, out var file))
            throw new ArgumentOutOfRangeException(nameof(arch), arch, "no ImageNet weights known");
        string path = Path.Combine(CacheDirectory, file);
        if (File.Exists(path))
            return path;
        var url = new Uri(mirror ?? new Uri("https://download.pytorch.org/models/"), file);
        log?.Invoke($"downloading {url} to {path}");
        using var http = new HttpClient { Timeout = TimeSpan.FromHours(1) };
        // Downloads.DownloadAsync writes to path.part and renames when complete; the hash in the name is checked on load.
        Downloads.DownloadAsync(http, new RemoteFile(url, file), path).GetAwaiter().GetResult();
        return path;
    }
}
