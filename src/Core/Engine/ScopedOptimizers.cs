using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

// TorchSharp 0.107's optimizers (src/TorchSharp/Optimizers/{Adam,AdamW,SGD}.cs) run the whole update under one
// dispose scope, so each parameter's temporaries (Adam: sqrt(v) and its quotient; SGD: the weight-decayed and
// Nesterov gradients) stay alive until every parameter is updated: about two copies of the model's parameters
// (190 MB for ResNet50) allocated fresh, page-faulted in and held at the step's peak. PyTorch's single-tensor
// updates (torch/optim/adam.py, sgd.py) drop them per parameter through reference counting. These subclasses do
// the same arithmetic, in the same order with the same kernels (so the same bits), with a dispose scope per
// parameter and Adam's quotient computed in place. State, options and state_dict files are the base classes'.

/// <summary>TorchSharp's <see cref="Adam"/> with each parameter's temporaries released as soon as it is updated.</summary>
public sealed class ScopedAdam(IEnumerable<Parameter> parameters, double lr, double weightDecay)
    : Adam(parameters, lr: lr, weight_decay: weightDecay)
{
    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        foreach (var param in group.Parameters)
        {
            using var scope = NewDisposeScope();
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (options.maximize!.Value)
                grad = -grad;
            state.step += 1;
            if (options.weight_decay!.Value != 0)
                grad = grad.add(param, alpha: options.weight_decay.Value);
            ScopedAdamUpdate.Apply(param, grad, state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq, state.step,
                options.beta1!.Value, options.beta2!.Value, options.eps!.Value, options.LearningRate!.Value, options.amsgrad!.Value);
        }
    }, closure!);
}

/// <summary>TorchSharp's <see cref="AdamW"/> with each parameter's temporaries released as soon as it is updated.</summary>
public sealed class ScopedAdamW(IEnumerable<Parameter> parameters, double lr, double weightDecay)
    : AdamW(parameters, lr: lr, weight_decay: weightDecay)
{
    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = (Options)group.Options;
        double lr = options.LearningRate!.Value;
        foreach (var param in group.Parameters)
        {
            using var scope = NewDisposeScope();
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (options.maximize!.Value)
                grad = -grad;
            state.step += 1;
            // Decoupled weight decay (Loshchilov & Hutter, 2019), applied before the moment update as TorchSharp does.
            param.mul_(1 - lr * options.weight_decay!.Value);
            ScopedAdamUpdate.Apply(param, grad, state.exp_avg, state.exp_avg_sq, ref state.max_exp_avg_sq, state.step,
                options.beta1!.Value, options.beta2!.Value, options.eps!.Value, lr, options.amsgrad!.Value, conjugate: false);
        }
    }, closure!);
}

/// <summary>TorchSharp's <see cref="SGD"/> with each parameter's temporaries released as soon as it is updated.</summary>
public sealed class ScopedSGD(IEnumerable<Parameter> parameters, double lr, double momentum, double weightDecay, bool nesterov)
    : SGD(parameters, lr, momentum: momentum, weight_decay: weightDecay, nesterov: nesterov)
{
    /// <inheritdoc />
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double momentum = options.momentum!.Value;
        double lr = options.LearningRate!.Value;
        foreach (var param in group.Parameters)
        {
            using var scope = NewDisposeScope();
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null)
                continue;
            if (options.weight_decay!.Value != 0)
                grad = grad.add(param, alpha: options.weight_decay.Value);
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
                    buf.mul_(momentum).add_(grad, alpha: 1 - options.dampening!.Value);
                }
                grad = options.nesterov!.Value ? grad.add(buf, alpha: momentum) : buf;
            }
            param.add_(grad, alpha: options.maximize!.Value ? lr : -lr);
        }
    }, closure!);
}

internal static class ScopedAdamUpdate
{
    // Adam (Kingma & Ba, 2015, Algorithm 1) as TorchSharp computes it: denominator sqrt(v) / sqrt(1 - beta2^t) + eps,
    // step lr / (1 - beta1^t). The division and the epsilon are applied in place on the one sqrt temporary.
    public static void Apply(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, ref Tensor? maxExpAvgSq, long step,
        double beta1, double beta2, double eps, double lr, bool amsgrad, bool conjugate = true)
    {
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        expAvg.mul_(beta1).add_(grad, alpha: 1 - beta1);
        expAvgSq.mul_(beta2).addcmul_(grad, conjugate ? grad.conj() : grad, value: 1 - beta2);
        Tensor second = expAvgSq;
        if (amsgrad)
        {
            var previous = maxExpAvgSq!;
            maxExpAvgSq = maximum(previous, expAvgSq).DetachFromDisposeScope();
            previous.Dispose();
            second = maxExpAvgSq;
        }
        var denom = second.sqrt().div_(Math.Sqrt(biasCorrection2)).add_(eps);
        param.addcdiv_(expAvg, denom, value: -(lr / biasCorrection1));
    }
}
