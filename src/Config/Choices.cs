using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Serialization;

namespace Repro.Config;

// The one list of each choice in experiments.yaml. Validation, the engine's switches, the host's command-line help,
// the spec stamps the build hands to the host and docs/reference.md's key tables all come from these enums; a member's YAML
// name is its lower-cased name unless [JsonStringEnumMemberName] says otherwise (the same name in the JSON stamps).

/// <summary>Dataset readers (<c>kind:</c> of a dataset).</summary>
public enum DatasetKind
{
    /// <summary>One folder per class (torchvision's ImageFolder).</summary>
    ImageFolder,

    /// <summary>TensorFlow's flower_photos: an image-folder tree.</summary>
    Flower,

    /// <summary>Oxford-IIIT Pet, with its official trainval/test lists.</summary>
    [JsonStringEnumMemberName("oxford-pet")]
    OxfordPet,

    /// <summary>CIFAR-10, binary version.</summary>
    Cifar10,

    /// <summary>IDX files (MNIST, Fashion-MNIST).</summary>
    Idx,
}

/// <summary>Architectures (<c>model:</c>), named as torchvision's factories.</summary>
public enum ModelKind
{
    ResNet50,
    DenseNet121,
}

/// <summary>Classifier heads (<c>head:</c>).</summary>
public enum HeadKind
{
    /// <summary>One Linear layer: the architecture's own classifier.</summary>
    Linear,

    /// <summary>The tutorial's MLP.</summary>
    Seed,
}

/// <summary>What trains (<c>freeze:</c>).</summary>
public enum FreezeMode
{
    /// <summary>Fine-tune every layer.</summary>
    None,

    /// <summary>Train the head only.</summary>
    Backbone,
}

/// <summary>Input normalisation (<c>normalize:</c>).</summary>
public enum NormalizationKind
{
    /// <summary>ImageNet's mean and std.</summary>
    ImageNet,

    /// <summary>0.5 / 0.5 per channel, the tutorial's.</summary>
    Half,
}

/// <summary>Optimizers (<c>optimizer:</c>).</summary>
public enum OptimizerKind
{
    Adam,
    AdamW,
    Sgd,
}

/// <summary>Learning-rate schedules (<c>schedule:</c>).</summary>
public enum ScheduleKind
{
    Constant,
    Cosine,
    Step,
}

/// <summary>Where LibTorch runs (<c>device:</c>).</summary>
public enum DeviceChoice
{
    /// <summary>CUDA when present, else the CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

/// <summary>
/// The memory layout a run's convolutions actually used: what <c>channels_last</c> asked for, unless the CPU refused it
/// (metrics.json's <c>layout</c>). Not an experiments.yaml choice: the layout key is the boolean <c>channels_last</c>.
/// </summary>
public enum InputLayout
{
    Nchw,

    [JsonStringEnumMemberName("channels-last")]
    ChannelsLast,
}

/// <summary>How a run's float32 bits depend on the machine (<c>numerics:</c>; docs/numerics.md).</summary>
public enum NumericsMode
{
    /// <summary>LibTorch's fastest kernels for this CPU (oneDNN, its widest ISA): bit for bit only on the same numerics platform.</summary>
    Native,

    /// <summary>
    /// Kernels pinned to an ISA class (oneDNN and NNPACK off; ATen and MKL's vector math on their AVX2 paths, MKL's GEMM on
    /// its COMPATIBLE path): bit for bit on every x86-64 CPU with AVX2 and FMA, whatever its vendor, model or caches.
    /// CPU only; slower.
    /// </summary>
    Portable,
}

/// <summary>The experiments.yaml names of the choice enums, both ways.</summary>
public static class Choice
{
    private static readonly ConcurrentDictionary<Type, (string[] Names, Enum[] Values)> Tables = new();

    /// <summary>Every name of <paramref name="type"/>'s members, in declaration order.</summary>
    public static IReadOnlyList<string> Names(Type type) => Table(type).Names;

    /// <summary>Every name of <typeparamref name="T"/>'s members, in declaration order.</summary>
    public static IReadOnlyList<string> Names<T>() where T : struct, Enum => Table(typeof(T)).Names;

    /// <summary>The name experiments.yaml uses for <paramref name="value"/>.</summary>
    public static string Name(Enum value)
    {
        var (names, values) = Table(value.GetType());
        return names[Array.IndexOf(values, value)];
    }

    /// <summary>The member named <paramref name="name"/> (exact, as in experiments.yaml); null when none is.</summary>
    public static Enum? Parse(Type type, string name)
    {
        var (names, values) = Table(type);
        int i = Array.IndexOf(names, name);
        return i < 0 ? null : values[i];
    }

    /// <summary>The member of <typeparamref name="T"/> named <paramref name="name"/>, or an error listing the names.</summary>
    public static T Parse<T>(string name) where T : struct, Enum =>
        Parse(typeof(T), name) is T value ? value
            : throw new ArgumentException($"unknown {typeof(T).Name} '{name}' (known: {string.Join(", ", Names<T>())})");

    private static (string[] Names, Enum[] Values) Table(Type type) => Tables.GetOrAdd(type, t =>
    {
        var fields = t.GetFields(BindingFlags.Public | BindingFlags.Static);
        return (fields.Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name.ToLowerInvariant()).ToArray(),
            fields.Select(f => (Enum)f.GetValue(null)!).ToArray());
    });
}
