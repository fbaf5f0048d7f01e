using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Data;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>
/// What the float32 bits of Repro's building blocks are on this machine: a convolution forward and backward (a 3x3,
/// and ResNet50's strided 1x1 downsample shape, each in NCHW and channels-last), a linear layer (one GEMM each way)
/// and one full training step of ResNet50 and DenseNet121, all on fixed data, each output and gradient summarised
/// as a short SHA-256 of its bytes. Two machines (or two settings) whose hashes agree compute those operators
/// bit for bit alike; docs/numerics.md tabulates them per setting and CPU kind.
/// </summary>
/// <remarks>
/// The inputs come from Repro's own xoshiro stream, not from LibTorch's generator: <c>randn</c> on the CPU draws
/// through ATen's vectorised normal kernel, whose bits depend on ATen's CPU capability, and the probe must feed every
/// setting the same numbers. The training steps start from the models' own seeded initialisation, as experiments do,
/// and hash it too ("init"), since that initialisation does go through ATen's kernels.
/// </remarks>
public static class NumericsProbe
{
    /// <summary>The probe's items, in the order they run.</summary>
    public static IReadOnlyList<string> Items { get; } =
    [
        "conv3x3", "conv3x3-cl", "conv1x1s2", "conv1x1s2-cl", "linear", "elementwise", "resnet50-step", "resnet50-step-cl", "densenet121-step", "densenet121-step-cl",
    ];

    /// <summary>
    /// Items run only when named: ResNet50's layer4 shortcut shape (1024 -> 2048, 1x1, stride 2), whose backward kills
    /// the process with SIGFPE in oneDNN on CPUs that hide their cache sizes (Models/Downsample.cs).
    /// </summary>
    public static IReadOnlyList<string> OnRequestItems { get; } = ["conv1x1s2-1024"];

    /// <summary>Crop and batch of the training-step items.</summary>
    public const int StepCrop = 32, StepBatch = 8;

    /// <summary>Batch of the convolution items: 16, the smallest batch LibTorch hands to NNPACK where it initialises.</summary>
    public const int ConvolutionBatch = 16;

    /// <summary>One item's hashes (output or gradient name, 12 hex digits), or why it was skipped.</summary>
    public sealed record ItemResult(string Item, string Description, IReadOnlyList<KeyValuePair<string, string>> Hashes, string? Skipped = null);

    /// <summary>
    /// Runs <paramref name="items"/> (default: all) on the CPU as LibTorch is configured now; <paramref name="onItem"/>
    /// is called before each item runs (the regeneration script attributes oneDNN's verbose lines by it).
    /// </summary>
    public static IReadOnlyList<ItemResult> Run(IEnumerable<string>? items = null, Action<string>? onItem = null)
    {
        var results = new List<ItemResult>();
        foreach (var item in items ?? Items)
        {
            if (!Items.Contains(item) && !OnRequestItems.Contains(item))
                throw new ArgumentException($"unknown probe item '{item}' (known: {string.Join(", ", Items.Concat(OnRequestItems))})");
            onItem?.Invoke(item);
            results.Add(RunItem(item));
        }
        return results;
    }

    private static ItemResult RunItem(string item)
    {
        using var scope = NewDisposeScope();
        return item switch
        {
            "conv3x3" => Convolution(item, channelsLast: false, inChannels: 64, outChannels: 64, side: 16, kernel: 3, stride: 1, padding: 1),
            "conv3x3-cl" => Convolution(item, channelsLast: true, inChannels: 64, outChannels: 64, side: 16, kernel: 3, stride: 1, padding: 1),
            // ResNet50's layer2 shortcut: 256 -> 512 channels, 1x1, stride 2 (under 512 input channels, so oneDNN's
            // strided 1x1 backward does not hit its SIGFPE on CPUs hiding their caches; see Models/Downsample.cs).
            "conv1x1s2" => Convolution(item, channelsLast: false, inChannels: 256, outChannels: 512, side: 16, kernel: 1, stride: 2, padding: 0),
            "conv1x1s2-cl" => Convolution(item, channelsLast: true, inChannels: 256, outChannels: 512, side: 16, kernel: 1, stride: 2, padding: 0),
            "conv1x1s2-1024" => Convolution(item, channelsLast: false, inChannels: 1024, outChannels: 2048, side: 8, kernel: 1, stride: 2, padding: 0),
            "linear" => Linear(item),
            "elementwise" => Elementwise(item),
            "resnet50-step" => TrainingStep(item, ModelKind.ResNet50, channelsLast: false),
            "resnet50-step-cl" => TrainingStep(item, ModelKind.ResNet50, channelsLast: true),
            "densenet121-step" => TrainingStep(item, ModelKind.DenseNet121, channelsLast: false),
            "densenet121-step-cl" => TrainingStep(item, ModelKind.DenseNet121, channelsLast: true),
            _ => throw new ArgumentException(item),
        };
    }

    private static ItemResult Convolution(string item, bool channelsLast, long inChannels, long outChannels, long side, long kernel, long stride, long padding)
    {
        string description = string.Create(CultureInfo.InvariantCulture,
            $"conv2d {inChannels}->{outChannels} {kernel}x{kernel} stride {stride} pad {padding} on {ConvolutionBatch}x{inChannels}x{side}x{side}, {Layout(channelsLast)}, forward and backward");
        if (Refused(channelsLast) is { } why)
            return new ItemResult(item, description, [], "skipped: " + why);
        using var s = new HeldScalars();
        var x = Fixed(1, ConvolutionBatch, inChannels, side, side);
        if (channelsLast)
            x = InputFormat.ToChannelsLast(x);
        x.requires_grad_(true);
        var weight = Fixed(2, outChannels, inChannels, kernel, kernel).mul_(s.Of(1.0 / Math.Sqrt(inChannels * kernel * kernel))).requires_grad_(true);
        var y = nn.functional.conv2d(x, weight, strides: [stride, stride], padding: [padding, padding]);
        var gradOutput = Fixed(3, y.shape);
        y.backward([gradOutput]);
        return new ItemResult(item, description, [Hash("y", y), Hash("dx", x.grad!), Hash("dw", weight.grad!)]);
    }

    private static ItemResult Linear(string item)
    {
        const long batch = 64, inFeatures = 1024, outFeatures = 1000;
        using var s = new HeldScalars();
        var x = Fixed(1, batch, inFeatures).requires_grad_(true);
        var weight = Fixed(2, outFeatures, inFeatures).mul_(s.Of(1.0 / Math.Sqrt(inFeatures))).requires_grad_(true);
        var bias = Fixed(3, outFeatures).requires_grad_(true);
        var y = nn.functional.linear(x, weight, bias);
        y.backward([Fixed(4, y.shape)]);
        return new ItemResult(item, $"linear {inFeatures}->{outFeatures} on a batch of {batch} (addmm), forward and backward",
            [Hash("y", y), Hash("dx", x.grad!), Hash("dw", weight.grad!), Hash("db", bias.grad!)]);
    }

    // The elementwise operators of a training step outside convolutions and GEMMs, each on its own: ATen runs them
    // with its vectorised kernels (at the CPU capability) and, for some float functions, through MKL's vector math.
    private static ItemResult Elementwise(string item)
    {
        const long n = 1 << 20;
        using var s = new HeldScalars();
        var positive = Fixed(1, n).abs_().add_(s.Of(0.01), s.Of(1));
        var x = Fixed(2, n).mul_(s.Of(4.0));
        // One Adam update (AdamSteps, as the optimizers run it) of fixed moments and gradient.
        var param = new TorchSharp.Modules.Parameter(Fixed(3, n));
        var grad = Fixed(4, n);
        var expAvg = Fixed(5, n).mul_(s.Of(0.01));
        var expAvgSq = positive.mul(s.Of(0.001));
        Tensor? maxExpAvgSq = null;
        using (no_grad())
            Optimizers.AdamSteps.Update(s, param, grad, 3, expAvg, expAvgSq, ref maxExpAvgSq, 0.9, 0.999, 1e-8, 2e-4, amsgrad: false);
        // IEEE 754's correctly rounded square root, computed by .NET (one sqrtss each): what any exact sqrt gives.
        var ieee = positive.data<float>().ToArray().Select(MathF.Sqrt).ToArray();
        return new ItemResult(item, $"sqrt, exp, log, tanh, sigmoid on {n} values (sqrt-ieee: the correctly rounded square roots, by .NET); one Adam update of {n} parameters",
            [Hash("sqrt", positive.sqrt()), Hash("sqrt-ieee", tensor(ieee)), Hash("exp", x.exp()), Hash("log", positive.log()), Hash("tanh", x.tanh()), Hash("sigmoid", x.sigmoid()),
             Hash("adam", param)]);
    }

    private static ItemResult TrainingStep(string item, ModelKind kind, bool channelsLast)
    {
        const int classes = 10;
        string description = string.Create(CultureInfo.InvariantCulture,
            $"{Choice.Name(kind)}, {classes} classes, one Adam step (lr {Schema.FindExperimentKey("lr")!.Default}) on a batch of {StepBatch} at {StepCrop}x{StepCrop}, {Layout(channelsLast)}; init = seeded initial weights");
        if (Refused(channelsLast) is { } why)
            return new ItemResult(item, description, [], "skipped: " + why);
        TorchRuntime.Seed(1);
        using var model = Zoo.Create(kind, classes);
        model.train();
        var parameters = model.parameters().ToList();
        var init = Hash("init", parameters);
        var options = new TrainingOptions(StepBatch, 1, OptimizerKind.Adam, (double)Schema.FindExperimentKey("lr")!.Default!);
        using var optimizer = Optimization.Create(options, parameters);
        var input = new InputFormat(ScalarType.Float32, channelsLast);
        var x = input.Prepare(Fixed(1, StepBatch, 3, StepCrop, StepCrop), CPU);
        var rng = SeededRandom.Create(4);
        var y = tensor(Enumerable.Range(0, StepBatch).Select(_ => (long)rng.NextInt(classes)).ToArray());
        var (loss, _) = Trainer.Step(optimizer, parameters, model, x, y, options.LearningRate, options);
        var gradients = Hash("grads", parameters.Select(p => p.grad!).ToList());
        var updated = Hash("params", parameters);
        return new ItemResult(item, description, [init, Hash("loss", loss), gradients, updated]);
    }

    private static string Layout(bool channelsLast) => channelsLast ? "channels-last" : "NCHW";

    // Channels-last where an experiment would run it: not where oneDNN would crash (InputFormat.ChannelsLastRefusal).
    private static string? Refused(bool channelsLast) =>
        channelsLast ? InputFormat.ChannelsLastRefusal(DeviceType.CPU, X86Cpu.Current(), TorchRuntime.OneDnnEnabled != false) : null;

    /// <summary>A float32 tensor of the given shape filled from xoshiro stream <paramref name="stream"/>, uniform in [-1, 1).</summary>
    private static Tensor Fixed(ulong stream, params long[] shape)
    {
        var rng = SeededRandom.Create(20261207, stream);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        for (long i = 0; i < count; i++)
            values[i] = (float)(2 * rng.NextDouble() - 1);
        return tensor(values).reshape(shape);
    }

    private static KeyValuePair<string, string> Hash(string name, Tensor t) => Hash(name, [t]);

    // The values in logical (NCHW, row-major) order whatever the strides, so layouts compare by value.
    private static KeyValuePair<string, string> Hash(string name, IReadOnlyList<Tensor> tensors)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in tensors)
        {
            using var scope = NewDisposeScope();
            var values = t.detach().cpu().to(float32).contiguous().data<float>().ToArray();
            sha.AppendData(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        return KeyValuePair.Create(name, Convert.ToHexStringLower(sha.GetHashAndReset())[..12]);
    }

    /// <summary>What decides the probe's bits besides the CPU: one line each, for the text output.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Settings(NumericsMode numerics)
    {
        var cpu = X86Cpu.Current();
        var platform = NumericsPlatform.Current(CPU, numerics);
        return
        [
            KeyValuePair.Create("cpu", cpu is null ? RuntimeInformation.ProcessArchitecture.ToString()
                : string.Create(CultureInfo.InvariantCulture, $"{cpu.Vendor} family {cpu.Family} model {cpu.Model} stepping {cpu.Stepping} ({cpu.Brand}); caches L1d {cpu.L1d}, L2 {cpu.L2}, L3 {cpu.L3}")),
            KeyValuePair.Create("numerics", Choice.Name(numerics)),
            KeyValuePair.Create("aten_isa", platform.AtenIsa),
            KeyValuePair.Create("onednn_isa", platform.OneDnnIsa),
            KeyValuePair.Create("onednn", Flag(TorchRuntime.OneDnnEnabled)),
            KeyValuePair.Create("nnpack", Flag(TorchRuntime.NnpackEnabled)),
            KeyValuePair.Create("nnpack_available", Flag(TorchRuntime.NnpackAvailable())),
            KeyValuePair.Create("mkl_cbwr", MklCbwr.Current() ?? NumericsPlatform.Unknown),
            KeyValuePair.Create("mkl_vml_path", MklCbwr.VmlCodePath()?.ToString(CultureInfo.InvariantCulture) ?? NumericsPlatform.Unknown),
            KeyValuePair.Create("threads", torch.get_num_threads().ToString(CultureInfo.InvariantCulture)),
            KeyValuePair.Create("deterministic", Flag(TorchRuntime.DeterministicAlgorithms)),
            KeyValuePair.Create("platform_id", platform.Id),
        ];
    }

    private static string Flag(bool? on) => on switch { true => "on", false => "off", null => NumericsPlatform.Unknown };

    /// <summary>The results as aligned text: the settings, then one line per item.</summary>
    public static string Render(IReadOnlyList<KeyValuePair<string, string>> settings, IReadOnlyList<ItemResult> results)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in settings)
            text.Append(CultureInfo.InvariantCulture, $"{key,-14} {value}\n");
        int width = results.Max(r => r.Item.Length);
        foreach (var r in results)
        {
            text.Append(r.Item.PadRight(width)).Append("  ");
            text.Append(r.Skipped ?? string.Join("  ", r.Hashes.Select(h => $"{h.Key} {h.Value}")));
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The results as one JSON object: settings, then items (name: hashes, description, or skipped).</summary>
    public static string ToJson(IReadOnlyList<KeyValuePair<string, string>> settings, IReadOnlyList<ItemResult> results)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("settings");
            foreach (var (key, value) in settings)
                json.WriteString(key, value);
            json.WriteEndObject();
            json.WriteStartObject("items");
            foreach (var r in results)
            {
                json.WriteStartObject(r.Item);
                json.WriteString("description", r.Description);
                if (r.Skipped is { } skipped)
                    json.WriteString("skipped", skipped);
                foreach (var (key, value) in r.Hashes)
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }
}
