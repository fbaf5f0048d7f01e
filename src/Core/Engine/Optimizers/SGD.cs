using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine.Optimizers;

/// <summary>
/// TorchSharp's <see cref="TorchSharp.Modules.SGD"/> (same name: its state_dict files carry the type name) with its step rewritten to hold every Scalar it passes (<see cref="HeldScalars"/>):
/// the same operations in the same order as TorchSharp 0.107's src/TorchSharp/Optimizers/SGD.cs (itself PyTorch's
/// torch/optim/sgd.py), so updates, state and state_dict files are the same bytes.
/// </summary>
public sealed class SGD(IEnumerable<Parameter> parameters, double lr, double momentum, double weightDecay, bool nesterov)
    : TorchSharp.Modules.SGD(parameters, lr, momentum, dampening: 0, weight_decay: weightDecay, nesterov: nesterov)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double momentum = options.momentum!.Value, dampening = options.dampening!.Value, weightDecay = options.weight_decay!.Value;
        double lr = options.LearningRate!.Value;
        bool nesterov = options.nesterov!.Value, maximize = options.maximize!.Value;
        HeldStep.ForEachGradient<State>(group, _state, (s, param, grad, state) =>
        {
            if (weightDecay != 0)
                grad = grad.add(param, s.Of(weightDecay));
            if (momentum != 0)
            {
                var buf = state.momentum_buffer;
                if (buf is null)
                {
                    buf = grad.clone().detach().DetachFromDisposeScope();
                    state.momentum_buffer = buf;
                }
                else
                {
                    buf.mul_(s.Of(momentum)).add_(grad, s.Of(1 - dampening));
                }
                grad = nesterov ? grad.add(buf, s.Of(momentum)) : buf;
            }
            param.add_(grad, s.Of(maximize ? lr : -lr));
        });
    }, closure);
}
