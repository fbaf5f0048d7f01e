using Repro.Core.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class OptimizationTests
{
    private const long StepsPerEpoch = 4;

    private static double[] Rates(TinyExperiment tiny) =>
        Enumerable.Range(0, (int)(tiny.Experiment.Epochs * StepsPerEpoch))
            .Select(step => Optimization.LearningRate(tiny.Experiment, step, StepsPerEpoch)).ToArray();

    [Fact]
    public void LearningRate_Constant_BaseRateEveryStep()
    {
        using var tiny = new TinyExperiment("lr: 0.1", "epochs: 3", "schedule: constant");

        Assert.All(Rates(tiny), lr => Assert.Equal(0.1, lr, 12));
    }

    [Fact]
    public void LearningRate_Warmup_RisesLinearlyToBaseThenConstant()
    {
        using var tiny = new TinyExperiment("lr: 0.1", "epochs: 2", "schedule: constant", "warmup_epochs: 1");

        Assert.Equal([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1], Rates(tiny).Select(r => Math.Round(r, 12)));
    }

    [Fact]
    public void LearningRate_CosineAfterWarmup_HalfPeriodOverRemainingSteps()
    {
        using var tiny = new TinyExperiment("lr: 0.1", "epochs: 3", "schedule: cosine", "warmup_epochs: 1");

        var rates = Rates(tiny);

        Assert.Equal(0.025, rates[0], 12);
        Assert.Equal(0.1, rates[3], 12);
        Assert.Equal(0.1, rates[4], 12);
        Assert.Equal(0.05, rates[8], 12);
        Assert.Equal(0.05 * (1 + Math.Cos(Math.PI * 7 / 8)), rates[11], 12);
        Assert.True(rates.Skip(4).Zip(rates.Skip(5)).All(p => p.Second < p.First), "cosine must fall at every step after warm-up");
    }

    [Fact]
    public void LearningRate_Step_DecaysByGammaEveryStepEpochs()
    {
        using var tiny = new TinyExperiment("lr: 0.1", "epochs: 5", "schedule: step", "step_epochs: 2", "step_gamma: 0.1");

        var perEpoch = Rates(tiny).Chunk((int)StepsPerEpoch).Select(chunk => Math.Round(chunk.Distinct().Single(), 12));

        Assert.Equal([0.1, 0.1, 0.01, 0.01, 0.001], perEpoch);
    }

    [Theory]
    [InlineData("adam", "Adam")]
    [InlineData("adamw", "AdamW")]
    [InlineData("sgd", "SGD")]
    public void Create_OptimizerName_MakesThatOptimizerWithItsRateAndDecay(string name, string type)
    {
        using var tiny = new TinyExperiment($"optimizer: {name}", "lr: 0.05", "weight_decay: 0.01");
        using var p = new TorchSharp.Modules.Parameter(ones(2));

        using var optimizer = Optimization.Create(tiny.Experiment, [p]);

        Assert.Equal(type, optimizer.GetType().Name);
        Assert.Equal(0.05, optimizer.ParamGroups.Single().LearningRate, 12);
    }

    // Loss = p, so the gradient is 1 every step. With momentum 0.9 and lr 0.1 the first step moves p by
    // 0.1 plainly and by 0.1 * (1 + 0.9) with Nesterov's look-ahead.
    [Theory]
    [InlineData(false, 0.9)]
    [InlineData(true, 0.81)]
    public void Create_SgdNesterov_FirstStepFollowsItsMomentumRule(bool nesterov, double expected)
    {
        using var tiny = new TinyExperiment("optimizer: sgd", "lr: 0.1", "momentum: 0.9", $"nesterov: {(nesterov ? "true" : "false")}");
        using var p = new TorchSharp.Modules.Parameter(ones(1, dtype: float64));
        using var optimizer = Optimization.Create(tiny.Experiment, [p]);

        optimizer.zero_grad();
        p.sum().backward();
        optimizer.step();

        Assert.Equal(expected, p.item<double>(), 12);
    }

    [Fact]
    public void SetLearningRate_NewRate_AppliesToEveryGroup()
    {
        using var tiny = new TinyExperiment("optimizer: adamw", "lr: 0.05");
        using var p = new TorchSharp.Modules.Parameter(ones(2));
        using var optimizer = Optimization.Create(tiny.Experiment, [p]);

        Optimization.SetLearningRate(optimizer, 0.003);

        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.003, g.LearningRate, 12));
    }
}
