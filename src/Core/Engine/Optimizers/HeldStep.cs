using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Repro.Core.Engine.Optimizers;

/// <summary>The per-parameter loop of an optimizer step, as TorchSharp's optimizers run it, with Scalars held per parameter.</summary>
internal static class HeldStep
{
    /// <summary>Calls <paramref name="update"/> for each parameter of the group that has a gradient, in order.</summary>
    public static void ForEachGradient<TState>(ParamGroup group, OrderedDict<IntPtr, OptimizerState> states, Action<HeldScalars, Parameter, Tensor, TState> update)
        where TState : OptimizerState
    {
        foreach (var param in group.Parameters)
        {
            var grad = param.grad;
            if (grad is null)
                continue;
            using var s = new HeldScalars();
            update(s, param, grad, (TState)states[param.Handle]);
        }
    }
}
