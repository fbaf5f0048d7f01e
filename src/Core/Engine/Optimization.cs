using Repro.Config;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Engine;

/// <summary>Optimizers and learning-rate schedules as experiments.yaml names them.</summary>
public static class Optimization
{
    /// <summary>
    /// Creates the optimizer over the trainable parameters. Call after moving the model to its device:
    /// TorchSharp's <c>Module.to</c> makes new Parameter objects.
    /// </summary>
    public static TorchSharp.Modules.OptimizerHelper Create(Experiment e, IEnumerable<Parameter> parameters) => e.Optimizer switch
    {
        "adam" => optim.Adam(parameters, lr: e.LearningRate, weight_decay: e.WeightDecay),
        // TorchSharp's AdamW defaults weight_decay to 0 (PyTorch: 0.01); the experiment's value is passed explicitly.
        "adamw" => optim.AdamW(parameters, lr: e.LearningRate, weight_decay: e.WeightDecay),
        "sgd" => optim.SGD(parameters, e.LearningRate, momentum: e.Momentum, weight_decay: e.WeightDecay, nesterov: e.Nesterov),
        _ => throw new ArgumentException($"unknown optimizer '{e.Optimizer}'"),
    };

    /// <summary>
    /// The learning rate at a global step: linear warm-up over <c>warmup_epochs</c> (reaching the base rate at the
    /// last warm-up step), then constant, cosine (half a period over the remaining steps, reaching zero one step
    /// after the last, as torchvision's reference recipes) or step decay (counted in epochs from the start).
    /// </summary>
    public static double LearningRate(Experiment e, long step, long stepsPerEpoch)
    {
        long warmup = e.WarmupEpochs * stepsPerEpoch;
        long total = Math.Max(1, (long)e.Epochs * stepsPerEpoch);
        if (step < warmup)
            return e.LearningRate * (step + 1) / warmup;
        double lr = e.Schedule switch
        {
            "cosine" => 0.5 * e.LearningRate * (1 + Math.Cos(Math.PI * (step - warmup) / Math.Max(1, total - warmup))),
            "step" => e.LearningRate * Math.Pow(e.StepGamma, step / stepsPerEpoch / e.StepEpochs),
            _ => e.LearningRate,
        };
        return lr;
    }

    public static void SetLearningRate(optim.Optimizer optimizer, double lr)
    {
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = lr;
    }
}
