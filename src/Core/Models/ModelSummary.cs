using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Models;

/// <summary>One row of a torchsummary table: a module call, its output shape and its weight + bias count.</summary>
/// <param name="Type">The module's class name (<c>Conv2d</c>, <c>Bottleneck</c>, …).</param>
/// <param name="Index">1-based position of the call among all rows.</param>
/// <param name="OutputShape">Output shape with the batch dimension as -1.</param>
/// <param name="Parameters">Elements of the module's own <c>weight</c> and <c>bias</c> (0 for containers).</param>
/// <param name="Trainable"><c>weight.requires_grad</c>, or null when the module has no weight.</param>
public sealed record SummaryRow(string Type, int Index, IReadOnlyList<long> OutputShape, long Parameters, bool? Trainable)
{
    /// <summary>The row label torchsummary prints, <c>Type-Index</c>.</summary>
    public string Layer => $"{Type}-{Index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The output shape as Python prints a list: <c>[-1, 64, 112, 112]</c>.</summary>
    public string Shape => "[" + string.Join(", ", OutputShape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}

/// <summary>
/// A model summary computed and printed as torchsummary's <c>summary(model, input_size)</c>
/// (torchsummary/torchsummary.py): a forward hook on every module except the model itself and
/// Sequential/ModuleList containers adds a row per call; sizes assume 4-byte floats.
/// </summary>
public sealed class ModelSummary
{
    private ModelSummary(IReadOnlyList<long> inputShape, IReadOnlyList<SummaryRow> rows)
    {
        InputShape = inputShape;
        Rows = rows;
        TotalParameters = rows.Sum(r => r.Parameters);
        TrainableParameters = rows.Where(r => r.Trainable == true).Sum(r => r.Parameters);
        const double MiB = 1024.0 * 1024.0;
        InputSizeMB = inputShape.Aggregate(1L, (a, b) => a * b) * 4.0 / MiB;
        // x2 for gradients, as torchsummary assumes.
        ForwardBackwardSizeMB = 2.0 * rows.Sum(r => r.OutputShape.Skip(1).Aggregate(1L, (a, b) => a * b)) * 4.0 / MiB;
        ParamsSizeMB = TotalParameters * 4.0 / MiB;
    }

    /// <summary>Input shape of one sample, e.g. (3, 224, 224).</summary>
    public IReadOnlyList<long> InputShape { get; }

    /// <summary>The rows in call order.</summary>
    public IReadOnlyList<SummaryRow> Rows { get; }

    /// <summary>Sum of the rows' parameters.</summary>
    public long TotalParameters { get; }

    /// <summary>Sum of the parameters of rows whose weight requires gradients.</summary>
    public long TrainableParameters { get; }

    /// <summary><see cref="TotalParameters"/> minus <see cref="TrainableParameters"/>.</summary>
    public long NonTrainableParameters => TotalParameters - TrainableParameters;

    /// <summary>One input sample in MiB.</summary>
    public double InputSizeMB { get; }

    /// <summary>Twice every row's output (activations and their gradients) for one sample, in MiB.</summary>
    public double ForwardBackwardSizeMB { get; }

    /// <summary>The parameters in MiB.</summary>
    public double ParamsSizeMB { get; }

    /// <summary>Input + forward/backward + parameters, in MiB.</summary>
    public double TotalSizeMB => InputSizeMB + ForwardBackwardSizeMB + ParamsSizeMB;

    /// <summary>
    /// Runs one sample of shape <paramref name="inputShape"/> (e.g. 3, 224, 224) through <paramref name="model"/>
    /// in evaluation mode without gradients and records the rows; the model's modes are restored afterwards.
    /// </summary>
    public static ModelSummary Create(nn.Module<Tensor, Tensor> model, params long[] inputShape)
    {
        var rows = new List<SummaryRow>();
        var removers = new List<Action>();
        var modes = model.named_modules().Select(m => (m.module, m.module.training)).Prepend((model, model.training)).ToList();
        try
        {
            foreach (var (_, module) in model.named_modules())
            {
                if (ReferenceEquals(module, model) || IsContainer(module) || module is not nn.Module<Tensor, Tensor> hookable)
                    continue;
                var remover = hookable.register_forward_hook((m, _, output) =>
                {
                    // Read the shape now: Sequential disposes intermediate outputs once the next module has run.
                    rows.Add(Row(m, rows.Count + 1, output));
                    return null!;
                });
                removers.Add(remover.remove);
            }
            model.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var device = model.parameters().FirstOrDefault()?.device ?? CPU;
            model.call(rand([1, .. inputShape], device: device));
        }
        finally
        {
            foreach (var remove in removers)
                remove();
            // Pre-order, so each module's own flag wins over its parent's recursive train().
            foreach (var (module, training) in modes)
                module.train(training);
        }
        return new ModelSummary(inputShape, rows);
    }

    /// <summary>The table as torchsummary prints it (LF line endings, trailing newline).</summary>
    public string Render()
    {
        const string Rule = "----------------------------------------------------------------";
        const string DoubleRule = "================================================================";
        var ci = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        void Line(string s) => text.Append(s).Append('\n');
        Line(Rule);
        Line(string.Format(ci, "{0,20}  {1,25} {2,15}", "Layer (type)", "Output Shape", "Param #"));
        Line(DoubleRule);
        foreach (var row in Rows)
            Line(string.Format(ci, "{0,20}  {1,25} {2,15}", row.Layer, row.Shape, row.Parameters.ToString("N0", ci)));
        Line(DoubleRule);
        Line($"Total params: {TotalParameters.ToString("N0", ci)}");
        Line($"Trainable params: {TrainableParameters.ToString("N0", ci)}");
        Line($"Non-trainable params: {NonTrainableParameters.ToString("N0", ci)}");
        Line(Rule);
        Line($"Input size (MB): {InputSizeMB.ToString("F2", ci)}");
        Line($"Forward/backward pass size (MB): {ForwardBackwardSizeMB.ToString("F2", ci)}");
        Line($"Params size (MB): {ParamsSizeMB.ToString("F2", ci)}");
        Line($"Estimated Total Size (MB): {TotalSizeMB.ToString("F2", ci)}");
        Line(Rule);
        return text.ToString();
    }

    /// <inheritdoc cref="Render" />
    public override string ToString() => Render();

    private static SummaryRow Row(nn.Module module, int index, Tensor output)
    {
        long parameters = 0;
        bool? trainable = null;
        // torchsummary counts only attributes named weight and bias.
        foreach (var (name, parameter) in module.named_parameters(recurse: false))
        {
            if (name == "weight")
            {
                parameters += parameter.numel();
                trainable = parameter.requires_grad;
            }
            else if (name == "bias")
            {
                parameters += parameter.numel();
            }
        }
        var shape = output.shape.ToArray();
        shape[0] = -1;
        return new SummaryRow(module.GetType().Name, index, shape, parameters, trainable);
    }

    private static bool IsContainer(nn.Module module)
    {
        var type = module.GetType();
        // Downsample stands in for torchvision's nn.Sequential shortcut, which torchsummary does not hook either.
        if (module is Sequential or Downsample)
            return true;
        return type.IsGenericType && type.GetGenericTypeDefinition() is var d
            && (d == typeof(ModuleList<>) || d == typeof(ModuleDict<>));
    }
}
