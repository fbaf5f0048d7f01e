using Repro.Core.Engine;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// torch.nn.BatchNorm2d (Ioffe and Szegedy 2015; PyTorch's torch/nn/modules/batchnorm.py) on TorchSharp's
/// <see cref="TorchSharp.Modules.BatchNorm"/>: the same parameters, buffers and state_dict keys (<c>weight</c>,
/// <c>bias</c>, <c>running_mean</c>, <c>running_var</c>, <c>num_batches_tracked</c>) and the same arithmetic. Why not
/// TorchSharp's own: its training forward counts batches with <c>num_batches_tracked.add_(1)</c>, whose implicit
/// Scalars a garbage collection can free while LibTorch reads them (<see cref="HeldScalars"/>); on an int64 tensor
/// that is the "alpha must not be a floating point number" failure CI saw in ResNet50 training.
/// </summary>
public sealed class BatchNorm2d(long numFeatures)
    : TorchSharp.Modules.BatchNorm(numFeatures, eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true, device: null, dtype: null, nameof(BatchNorm2d))
{
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        double averagingFactor = momentum ?? 0.0;
        if (training && num_batches_tracked is not null)
        {
            using var s = new HeldScalars();
            num_batches_tracked.add_(s.Of(1), s.Of(1));
            if (momentum is null)
                averagingFactor = 1.0 / num_batches_tracked.item<long>();
        }
        // In evaluation the running statistics normalise; in training the batch's, and the running ones are updated.
        return functional.batch_norm(input, running_mean, running_var, weight, bias, training, averagingFactor, eps);
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4)
            throw new ArgumentException($"expected 4D input, but got {input.ndim}D input.");
    }
}
