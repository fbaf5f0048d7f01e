using Repro.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>Optimizers and learning-rate schedules as <see cref="TrainingOptions"/> describe them.</summary>
public static class Optimization
{
    /// <summary>
    /// Creates the optimizer over the trainable parameters. Call after moving the model to its device:
    /// TorchSharp's <c>Module.to</c> makes new Parameter objects. TorchSharp's own optimizers pass Scalars that a
    /// garbage collection can free mid-call (see <see cref="HeldScalars"/>); these subclasses do the same arithmetic
    /// with held Scalars and keep TorchSharp's state and state_dict format.
    /// </summary>
    public static OptimizerHelper Create(TrainingOptions o, IEnumerable<Parameter> parameters) => o.Optimizer switch
    {
        OptimizerKind.Adam => new Optimizers.Adam(parameters, o.LearningRate, o.WeightDecay),
        // TorchSharp's AdamW defaults weight_decay to 0 (PyTorch: 0.01); the experiment's value is passed explicitly.
        OptimizerKind.AdamW => new Optimizers.AdamW(parameters, o.LearningRate, o.WeightDecay),
        OptimizerKind.Sgd => new Optimizers.SGD(parameters, o.LearningRate, o.Momentum, o.WeightDecay, o.Nesterov),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "optimizer"),
    };

    /// <summary>
    /// The learning rate at a global step: linear warm-up over <c>warmup_epochs</c> (reaching the base rate at the
    /// last warm-up step), then constant, cosine (half a period over the remaining steps, reaching zero one step
    /// after the last, as torchvision's reference recipes) or step decay (counted in epochs from the start).
    /// </summary>
    public static double LearningRate(TrainingOptions o, long step, long stepsPerEpoch)
    {
        long warmup = o.WarmupEpochs * stepsPerEpoch;
        long total = Math.Max(1, (long)o.Epochs * stepsPerEpoch);
        if (step < warmup)
            return o.LearningRate * (step + 1) / warmup;
        return o.Schedule switch
        {
            ScheduleKind.Constant => o.LearningRate,
            ScheduleKind.Cosine => 0.5 * o.LearningRate * (1 + Math.Cos(Math.PI * (step - warmup) / Math.Max(1, total - warmup))),
            ScheduleKind.Step => o.LearningRate * Math.Pow(o.StepGamma, step / stepsPerEpoch / o.StepEpochs),
            _ => throw new ArgumentOutOfRangeException(nameof(o), o.Schedule, "schedule"),
        };
    }

    public static void SetLearningRate(optim.Optimizer optimizer, double lr)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = lr;
    }
}
