using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine.Optimizers;

/// <summary>
/// TorchSharp's <see cref="TorchSharp.Modules.AdamW"/> (decoupled weight decay, Loshchilov and Hutter 2019) with its step
/// rewritten to hold every Scalar it passes; see <see cref="AdamSteps"/>.
/// </summary>
public sealed class AdamW(IEnumerable<Parameter> parameters, double lr, double weightDecay)
    : TorchSharp.Modules.AdamW(parameters, lr, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double lr = options.LearningRate!.Value;
        HeldStep.ForEachGradient<State>(group, _state, (s, param, grad, state) =>
        {
            if (options.maximize!.Value)
                grad = grad.neg();
            state.step += 1;
            param.mul_(s.Of(1 - lr * options.weight_decay!.Value));
            AdamSteps.Update(s, param, grad, state.step, state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq,
                options.beta1!.Value, options.beta2!.Value, options.eps!.Value, lr, options.amsgrad!.Value);
        });
    }, closure);
}
