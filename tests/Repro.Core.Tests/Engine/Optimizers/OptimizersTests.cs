using Repro.Config;
using Repro.Core.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine.Optimizers;

/// <summary>
/// Repro's optimizers only hold their Scalars; every update, and the state they save, must be the bytes TorchSharp's
/// own optimizers give, so that results and checkpoints do not change with them.
/// </summary>
[Collection(LibTorchCollection.Name)]
public sealed class OptimizersTests
{
    public static TheoryData<OptimizerKind, double, bool> Settings => new()
    {
        { OptimizerKind.Adam, 0.0, false },
        { OptimizerKind.Adam, 0.01, false },
        { OptimizerKind.AdamW, 0.01, false },
        { OptimizerKind.Sgd, 0.0, false },
        { OptimizerKind.Sgd, 0.01, false },
        { OptimizerKind.Sgd, 0.01, true },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Step_SameGradients_SameParametersAndStateBytesAsTorchSharps(OptimizerKind kind, double weightDecay, bool nesterov)
    {
        var options = new TrainingOptions(1, 1, kind, 0.05) with { WeightDecay = weightDecay, Momentum = 0.9, Nesterov = nesterov };
        using var ours = new Parameter(Start());
        using var theirs = new Parameter(Start());
        using var optimizer = Optimization.Create(options, [ours]);
        using OptimizerHelper reference = kind switch
        {
            OptimizerKind.Adam => optim.Adam([theirs], 0.05, weight_decay: weightDecay),
            OptimizerKind.AdamW => optim.AdamW([theirs], 0.05, weight_decay: weightDecay),
            _ => optim.SGD([theirs], 0.05, momentum: 0.9, weight_decay: weightDecay, nesterov: nesterov),
        };

        Assert.NotEqual(reference.GetType(), optimizer.GetType());
        var generator = new Generator(7);
        for (int step = 0; step < 4; step++)
        {
            using var grad = randn([3, 5], generator: generator);
            ours.grad = grad.clone();
            theirs.grad = grad.clone();
            optimizer.step();
            reference.step();
            Assert.Equal(theirs.data<float>().ToArray(), ours.data<float>().ToArray());
        }
        Assert.Equal(StateBytes(reference), StateBytes(optimizer));
    }

    [Fact]
    public void ForEachGradient_ManyParameters_EachParametersTemporariesFreedBeforeTheNext()
    {
        // TorchSharp's own step keeps every temporary to its end: twice the model's size at once for Adam.
        var parameters = Enumerable.Range(0, 6).Select(_ => new Parameter(Start())).ToList();
        foreach (var p in parameters)
            p.grad = ones_like(p);
        try
        {
            using var probe = new TemporariesProbe(parameters);

            var live = probe.LiveTensorsAtEachParameter();

            Assert.Equal(parameters.Count, live.Count);
            // What one parameter leaves behind in the step's scope is at most its gradient's handle (TorchSharp's
            // param.grad makes one), never the parameter's temporaries.
            Assert.All(live.Select((n, i) => n - live[0] - i), extra => Assert.True(extra <= 0, $"{extra} temporaries of earlier parameters alive"));
        }
        finally
        {
            parameters.ForEach(p => p.Dispose());
        }
    }

    /// <summary>Runs <see cref="Repro.Core.Engine.Optimizers.HeldStep"/> as the optimizers do, inside one scope as TorchSharp's step.</summary>
    private sealed class TemporariesProbe(IEnumerable<Parameter> parameters) : TorchSharp.Modules.Adam(parameters, 0.05)
    {
        public List<long> LiveTensorsAtEachParameter()
        {
            var live = new List<long>();
            using var step = NewDisposeScope();
            foreach (var group in _parameter_groups)
                Repro.Core.Engine.Optimizers.HeldStep.ForEachGradient<State>(group, _state, (_, param, grad, _) =>
                {
                    live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                    _ = param.sqrt().div(grad); // Adam's denominator makes two like these
                });
            return live;
        }
    }

    private static Tensor Start() => arange(15, float32).reshape(3, 5).div_(7.0.ToScalar());

    private static byte[] StateBytes(OptimizerHelper optimizer)
    {
        string path = Path.GetTempFileName();
        try
        {
            optimizer.save_state_dict(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
