using System.Diagnostics;
using System.Text.Json;
using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Bench;

/// <summary>
/// Evaluation-mode BatchNorm layer by layer, the Repro half of <c>scripts/bench-train.py bn</c>: which share of an
/// evaluation forward LibTorch's BatchNorm kernel takes, against PyTorch's on the same shapes. Each BatchNorm2d of the
/// model is timed on a tensor of the shape it sees in a forward at the benchmark's size and batch, as
/// <c>functional.batch_norm</c> (what <see cref="BatchNorm2d"/> runs) and as the same per-channel affine map written
/// as one <c>addcmul</c> (scale = γ / √(var + ε), shift = β − mean · scale). "Unpaired" layers are those no
/// convolution can absorb (DenseNet's pre-activation <c>norm1</c>, the transitions' <c>norm</c> and <c>norm5</c>), so
/// they still run in a folded evaluation and in a frozen backbone's training (<see cref="BatchNormFolding"/>).
/// </summary>
internal static class BatchNormBench
{
    public static int Run(TrainBench.Options o, Device device)
    {
        TorchRuntime.Seed(1);
        var model = Zoo.Create(Choice.Parse<ModelKind>(o.Model), o.Classes);
        model.to(device);
        model.eval();
        var names = model.named_modules().Where(m => m.module is BatchNorm2d).ToDictionary(m => m.module, m => m.name);
        var seen = new List<(string Name, BatchNorm2d Bn, long[] Shape)>();
        var removers = names.Keys.Cast<nn.Module<Tensor, Tensor>>()
            .Select(m => m.register_forward_hook((module, input, _) =>
            {
                // Read the shape now: Sequential disposes intermediate tensors once the next module has run.
                seen.Add((names[module], (BatchNorm2d)module, input.shape));
                return null!;
            }))
            .ToList();
        using (no_grad())
        using (NewDisposeScope())
            model.call(randn(o.Batch, 3, o.Size, o.Size, device: device));
        removers.ForEach(r => r.remove());

        var rows = new List<(string Name, long[] Shape, double Bn, double Affine)>();
        using (no_grad())
        {
            foreach (var (name, bn, shape) in seen)
            {
                using var scope = NewDisposeScope();
                using var s = new HeldScalars();
                var x = randn(shape, device: device);
                var scale = bn.running_var!.add(s.Of(bn.eps), s.Of(1)).rsqrt().mul(bn.weight!).reshape(1, -1, 1, 1);
                var shift = bn.bias!.reshape(1, -1, 1, 1).sub(bn.running_mean!.reshape(1, -1, 1, 1).mul(scale));
                double batchNorm = MedianMs(o, () => nn.functional.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, false, 0.1, bn.eps));
                double affine = MedianMs(o, () => addcmul(shift, x, scale, s.Of(1)));
                rows.Add((name, shape, batchNorm, affine));
            }
        }

        static bool Unpaired(string name) => name.EndsWith("norm1", StringComparison.Ordinal) || name.EndsWith(".norm", StringComparison.Ordinal) || name.EndsWith("norm5", StringComparison.Ordinal);
        var unpaired = rows.Where(r => Unpaired(r.Name)).ToList();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["side"] = o.PlainRuntime ? "raw" : "repro", ["mode"] = "bn", ["model"] = o.Model, ["size"] = o.Size, ["batch"] = o.Batch,
            ["threads"] = o.Threads, ["repeats"] = o.Steps, ["layers"] = rows.Count, ["unpaired_layers"] = unpaired.Count,
            ["bn_ms"] = rows.Sum(r => r.Bn), ["affine_ms"] = rows.Sum(r => r.Affine),
            ["unpaired_bn_ms"] = unpaired.Sum(r => r.Bn), ["unpaired_affine_ms"] = unpaired.Sum(r => r.Affine),
            ["by_spatial"] = rows.GroupBy(r => $"{r.Shape[2]}x{r.Shape[3]}").ToDictionary(
                g => g.Key, g => new[] { g.Count(), g.Sum(r => r.Bn), g.Sum(r => r.Affine) }),
        }));
        return 0;
    }

    /// <summary>Median wall milliseconds of <paramref name="op"/> over --steps calls after --warmup.</summary>
    private static double MedianMs(TrainBench.Options o, Func<Tensor> op)
    {
        for (int i = 0; i < o.Warmup; i++)
            op().Dispose();
        var ms = new List<double>();
        for (int i = 0; i < o.Steps; i++)
        {
            var sw = Stopwatch.StartNew();
            op().Dispose();
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        ms.Sort();
        return ms.Count % 2 == 1 ? ms[ms.Count / 2] : (ms[ms.Count / 2 - 1] + ms[ms.Count / 2]) / 2;
    }
}
