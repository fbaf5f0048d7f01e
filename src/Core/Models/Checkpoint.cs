using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>A checkpoint that cannot be loaded: wrong hash, unreadable format, or entries that do not match the model.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Model entries the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];

    /// <summary>File entries the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; init; } = [];

    /// <summary>Entries whose shape or dtype differ, as <c>name: file (shape, dtype) vs model (shape, dtype)</c>.</summary>
    public IReadOnlyList<string> Mismatched { get; init; } = [];
}

/// <summary>
/// Strict loading of PyTorch <c>torch.save</c> state_dicts: the zip format (PyTorch 1.6+) through TorchSharp.PyBridge's
/// unpickler, the legacy format through <see cref="LegacyTorchFile"/>.
/// Every entry is checked before any is copied, so a refused file leaves the model untouched.
/// </summary>
public static partial class Checkpoint
{
    private const int ListedPerKind = 5;

    // torch.hub's convention (torch/hub.py, HASH_REGEX and check_hash): `<name>-<first hex digits of sha256>.pth`.
    [GeneratedRegex(@"-([0-9a-f]{8,64})\.pth$", RegexOptions.CultureInvariant)]
    private static partial Regex HashSuffix();

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>: the names, shapes and dtypes of the file's
    /// entries (after <paramref name="renameKey"/>) must equal the model's state_dict, otherwise a
    /// <see cref="CheckpointException"/> lists the missing, unexpected and mismatched entries and nothing is loaded.
    /// A file named <c>&lt;name&gt;-&lt;hex&gt;.pth</c> must have a SHA-256 starting with those hex digits.
    /// </summary>
    /// <param name="model">The model; its tensors are overwritten in place (load on CPU, then move).</param>
    /// <param name="path">A <c>torch.save</c> file (zip or legacy format) holding a flat state_dict.</param>
    /// <param name="renameKey">Maps legacy key names to current ones, e.g. <see cref="DenseNet.UpgradeLegacyKey"/>.</param>
    public static void Load(nn.Module model, string path, Func<string, string>? renameKey = null)
    {
        var loaded = ReadFile(path, renameKey);
        try
        {
            Load(model, loaded, path);
        }
        finally
        {
            foreach (var tensor in loaded.Values)
                tensor.Dispose();
        }
    }

    /// <summary>
    /// Reads <paramref name="path"/> (hash-checked as <see cref="Load(nn.Module, string, Func{string, string}?)"/> does)
    /// into name -> tensor, keys renamed by <paramref name="renameKey"/>, so that a caller can look at the entries
    /// (a classifier's shape, say) before loading them. The tensors belong to the caller, who disposes them.
    /// </summary>
    public static Dictionary<string, Tensor> ReadFile(string path, Func<string, string>? renameKey = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        VerifyHash(path);
        // The scope frees what the readers allocate on the way; only the entries themselves leave it.
        using var scope = NewDisposeScope();
        var loaded = ReadStateDict(path, renameKey ?? (k => k));
        foreach (var tensor in loaded.Values)
            tensor.DetachFromDisposeScope();
        return loaded;
    }

    /// <summary>
    /// Loads entries read from <paramref name="path"/> (see <see cref="ReadFile"/>) into <paramref name="model"/>,
    /// as strictly as <see cref="Load(nn.Module, string, Func{string, string}?)"/>, except that entries under
    /// <paramref name="excludedPrefix"/> (e.g. <c>fc.</c>, a classifier that is being replaced) are neither required,
    /// nor loaded, nor unexpected, on either side. Call it outside a dispose scope: the model's own tensors are
    /// listed here, and a scope would free them.
    /// </summary>
    public static void Load(nn.Module model, IReadOnlyDictionary<string, Tensor> loaded, string path, string? excludedPrefix = null)
    {
        bool Included(string key) => excludedPrefix is null || !key.StartsWith(excludedPrefix, StringComparison.Ordinal);

        // PyTorch's order, so the entries an error lists first are the model's first.
        var target = StateDict(model).Where(e => Included(e.Name)).ToList();
        var names = target.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);

        var missing = target.Select(e => e.Name).Where(k => !loaded.ContainsKey(k) && !IsLegacyBatchNormCounter(k, loaded)).ToList();
        var unexpected = loaded.Keys.Where(k => Included(k) && !names.Contains(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = target
            .Where(e => loaded.TryGetValue(e.Name, out var t) && (!t.shape.SequenceEqual(e.Tensor.shape) || t.dtype != e.Tensor.dtype))
            .Select(e => $"{e.Name}: file {Describe(loaded[e.Name])} vs model {Describe(e.Tensor)}")
            .ToList();
        if (missing.Count + unexpected.Count + mismatched.Count > 0)
        {
            var message = new StringBuilder($"checkpoint '{path}' does not match the model; nothing was loaded.");
            AppendKind(message, "missing", missing);
            AppendKind(message, "unexpected", unexpected);
            AppendKind(message, "shape/dtype mismatch", mismatched);
            throw new CheckpointException(message.ToString())
            {
                Missing = missing, Unexpected = unexpected, Mismatched = mismatched,
            };
        }

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (key, tensor) in target)
        {
            if (loaded.TryGetValue(key, out var source))
                tensor.copy_(source);
            else
                tensor.zero_();
        }
    }

    /// <summary>
    /// Loads as PyTorch's <c>load_state_dict(strict=False)</c> does (torch/nn/modules/module.py): entries present on
    /// both sides are copied, model entries the file lacks keep their current values, file entries the model lacks are
    /// ignored, and nothing says so unless the caller looks at the returned <see cref="NonStrictLoad"/>. A shape
    /// mismatch still fails, as in PyTorch ("size mismatch for …" is raised whatever <c>strict</c> says). This is the
    /// tutorial's way of loading its DenseNet, kept for the faithful experiments (<c>load_nonstrict: true</c>).
    /// Entries under <paramref name="excludedPrefix"/> are out of scope on both sides, as in <see cref="Load(nn.Module, IReadOnlyDictionary{string, Tensor}, string, string?)"/>.
    /// </summary>
    public static NonStrictLoad LoadNonStrict(nn.Module model, IReadOnlyDictionary<string, Tensor> loaded, string path, string? excludedPrefix = null)
    {
        bool Included(string key) => excludedPrefix is null || !key.StartsWith(excludedPrefix, StringComparison.Ordinal);

        var target = StateDict(model).Where(e => Included(e.Name)).ToList();
        var names = target.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var mismatched = target
            .Where(e => loaded.TryGetValue(e.Name, out var t) && !t.shape.SequenceEqual(e.Tensor.shape))
            .Select(e => $"{e.Name}: file {Describe(loaded[e.Name])} vs model {Describe(e.Tensor)}")
            .ToList();
        if (mismatched.Count > 0)
        {
            var message = new StringBuilder($"checkpoint '{path}' does not fit the model even non-strictly; nothing was loaded.");
            AppendKind(message, "shape mismatch", mismatched);
            throw new CheckpointException(message.ToString()) { Mismatched = mismatched };
        }
        // PyTorch's BatchNorm (_NormBase._load_from_state_dict) fills in a missing num_batches_tracked with 0 for a
        // state_dict without version metadata (any dict built by hand or saved before 0.4.1), so it is never reported missing.
        bool Counter(string k) => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal);
        var missing = target.Select(e => e.Name).Where(k => !loaded.ContainsKey(k) && !Counter(k)).ToList();
        var unexpected = loaded.Keys.Where(k => Included(k) && !names.Contains(k)).Order(StringComparer.Ordinal).ToList();

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int copied = 0;
        foreach (var (key, tensor) in target)
        {
            if (loaded.TryGetValue(key, out var source))
            {
                tensor.copy_(source);
                copied++;
            }
            else if (Counter(key))
            {
                tensor.zero_();
            }
        }
        return new NonStrictLoad(copied, missing, unexpected);
    }

    /// <summary>
    /// The module's state_dict in PyTorch's order: each module's own parameters, then its persistent buffers,
    /// then its children's entries (TorchSharp's <c>state_dict()</c> lists every parameter before any buffer).
    /// </summary>
    public static IReadOnlyList<(string Name, Tensor Tensor)> StateDict(nn.Module module)
    {
        var entries = new List<(string, Tensor)>();
        void Visit(nn.Module m, string prefix)
        {
            foreach (var (name, p) in m.named_parameters(recurse: false))
                entries.Add((prefix + name, p));
            foreach (var (name, b) in m.named_buffers(recurse: false, include_nonpersistent: false))
                entries.Add((prefix + name, b));
            foreach (var (name, child) in m.named_children())
                Visit(child, prefix + name + ".");
        }
        Visit(module, "");
        return entries;
    }

    /// <summary>Writes the module's state_dict to <paramref name="path"/> in <c>torch.save</c>'s zip format, in PyTorch's key order.</summary>
    public static void Save(nn.Module module, string path)
    {
        var dict = new System.Collections.Specialized.OrderedDictionary(StringComparer.Ordinal);
        foreach (var (name, tensor) in StateDict(module))
            dict.Add(name, tensor);
        PyTorchPickler.PickleStateDict(path, dict);
    }

    /// <summary>Reads a <c>torch.save</c> state_dict (zip or legacy format) into name -> tensor, keys renamed by <paramref name="renameKey"/>.</summary>
    public static Dictionary<string, Tensor> ReadStateDict(string path, Func<string, string> renameKey)
    {
        Dictionary<string, Tensor> raw;
        try
        {
            using var stream = File.OpenRead(path);
            if (LegacyTorchFile.Detect(stream))
            {
                // torchvision's original downloads (resnet50-19c8e357.pth, densenet121-a639ec97.pth) predate the
                // zip format that PyBridge reads.
                raw = LegacyTorchFile.Read(stream);
            }
            else
            {
                raw = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (DictionaryEntry entry in PyTorchUnpickler.UnpickleStateDict(stream))
                {
                    if (entry.Key is not string key || entry.Value is not Tensor tensor)
                        throw new CheckpointException($"checkpoint '{path}' is not a flat state_dict of tensors (entry '{entry.Key}')");
                    raw.Add(key, tensor);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or InvalidCastException or IOException or NotImplementedException
            or ArgumentException or Razorvine.Pickle.PickleException)
        {
            throw new CheckpointException($"checkpoint '{path}' is not a torch.save file holding a flat state_dict: {e.Message}", e);
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in raw)
        {
            var name = renameKey(key);
            if (!result.TryAdd(name, tensor))
                throw new CheckpointException($"checkpoint '{path}' holds '{name}' twice (after renaming legacy keys)");
        }
        return result;
    }

    /// <summary>Fails when the file name carries torch.hub's hash suffix and the file's SHA-256 does not start with it.</summary>
    public static void VerifyHash(string path)
    {
        var m = HashSuffix().Match(Path.GetFileName(path));
        if (!m.Success)
            return;
        string expected = m.Groups[1].Value;
        string actual;
        using (var stream = File.OpenRead(path))
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!actual.StartsWith(expected, StringComparison.Ordinal))
            throw new CheckpointException(
                $"checkpoint '{path}' is corrupt or not the published file: its name says SHA-256 {expected}…, the file's is {actual}");
    }

    // PyTorch's BatchNorm (_NormBase._load_from_state_dict) accepts state_dicts written before
    // num_batches_tracked existed (PyTorch < 0.4.1, e.g. torchvision's original ImageNet files) and sets it to 0.
    private static bool IsLegacyBatchNormCounter(string key, IReadOnlyDictionary<string, Tensor> loaded) =>
        key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)
        && loaded.ContainsKey(key[..^"num_batches_tracked".Length] + "running_mean");

    private static string Describe(Tensor t) =>
        $"({string.Join(", ", t.shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}) {t.dtype}";

    private static void AppendKind(StringBuilder message, string kind, List<string> entries)
    {
        if (entries.Count == 0)
            return;
        message.Append(CultureInfo.InvariantCulture, $" {entries.Count} {kind}: ");
        message.Append(string.Join(", ", entries.Take(ListedPerKind)));
        if (entries.Count > ListedPerKind)
            message.Append(CultureInfo.InvariantCulture, $", … ({entries.Count - ListedPerKind} more)");
        message.Append('.');
    }
}
