using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine.Optimizers;

/// <summary>
/// TorchSharp's <see cref="TorchSharp.Modules.Adam"/> (L2 weight decay added to the gradient) with its step rewritten to
/// hold every Scalar it passes; see <see cref="AdamSteps"/>.
/// </summary>
public sealed class Adam(IEnumerable<Parameter> parameters, double lr, double weightDecay)
    : TorchSharp.Modules.Adam(parameters, lr, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        HeldStep.ForEachGradient<State>(group, _state, (s, param, grad, state) =>
        {
            if (options.maximize!.Value)
                grad = grad.neg();
            state.step += 1;
            if (options.weight_decay!.Value != 0)
                grad = grad.add(param, s.Of(options.weight_decay.Value));
            AdamSteps.Update(s, param, grad, state.step, state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq,
                options.beta1!.Value, options.beta2!.Value, options.eps!.Value, options.LearningRate!.Value, options.amsgrad!.Value);
        });
    }, closure);
}
