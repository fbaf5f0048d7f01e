using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine.Optimizers;

/// <summary>
/// The moment update shared by <see cref="Adam"/> and <see cref="AdamW"/>, after TorchSharp 0.107's
/// src/TorchSharp/Optimizers/Adam.cs and AdamW.cs (PyTorch's torch/optim/adam.py, adamw.py, Kingma and Ba 2015), with
/// every Scalar held (<see cref="HeldScalars"/>): same operations, same order, same bytes.
/// </summary>
internal static class AdamSteps
{
    /// <summary>Moments, bias correction and the parameter update, once the optimizer has applied its weight decay.</summary>
    public static void Update(HeldScalars s, Parameter param, Tensor grad, long step, Tensor expAvg, Tensor expAvgSq, ref Tensor? maxExpAvgSq,
        double beta1, double beta2, double eps, double lr, bool amsgrad)
    {
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        expAvg.mul_(s.Of(beta1)).add_(grad, s.Of(1 - beta1));
        expAvgSq.mul_(s.Of(beta2)).addcmul_(grad, grad.conj(), s.Of(1 - beta2));
        Tensor second = expAvgSq;
        if (amsgrad)
        {
            var previous = maxExpAvgSq!;
            maxExpAvgSq = maximum(previous, expAvgSq).DetachFromDisposeScope();
            previous.Dispose();
            second = maxExpAvgSq;
        }
        var denom = second.sqrt().div(s.Of(Math.Sqrt(biasCorrection2))).add_(s.Of(eps), s.Of(1));
        param.addcdiv_(expAvg, denom, s.Of(-(lr / biasCorrection1)));
    }
}
