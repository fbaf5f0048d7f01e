using Repro.Config;
using Repro.Core.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

public sealed class OptimizationTests
{
    private const long StepsPerEpoch = 4;

    private static TrainingOptions Options(int epochs = 1, ScheduleKind schedule = ScheduleKind.Constant, OptimizerKind optimizer = OptimizerKind.Adam) =>
        new(Batch: 32, Epochs: epochs, Optimizer: optimizer, LearningRate: 0.1, Schedule: schedule);

    private static double[] Rates(TrainingOptions o) =>
        Enumerable.Range(0, (int)(o.Epochs * StepsPerEpoch)).Select(step => Optimization.LearningRate(o, step, StepsPerEpoch)).ToArray();

    [Fact]
    public void LearningRate_Constant_BaseRateEveryStep() =>
        Assert.All(Rates(Options(epochs: 3)), lr => Assert.Equal(0.1, lr, 12));

    [Fact]
    public void LearningRate_Warmup_RisesLinearlyToBaseThenConstant() =>
        Assert.Equal([0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.1], Rates(Options(epochs: 2) with { WarmupEpochs = 1 }).Select(r => Math.Round(r, 12)));

    [Fact]
    public void LearningRate_CosineAfterWarmup_HalfPeriodOverRemainingSteps()
    {
        var rates = Rates(Options(epochs: 3, ScheduleKind.Cosine) with { WarmupEpochs = 1 });

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
        var perEpoch = Rates(Options(epochs: 5, ScheduleKind.Step) with { StepEpochs = 2, StepGamma = 0.1 })
            .Chunk((int)StepsPerEpoch).Select(chunk => Math.Round(chunk.Distinct().Single(), 12));

        Assert.Equal([0.1, 0.1, 0.01, 0.01, 0.001], perEpoch);
    }

    [Fact]
    public void LearningRate_EverySchedule_HasARule()
    {
        // A schedule added to the enum without a rule must fail here, not silently train at a constant rate.
        foreach (var schedule in Enum.GetValues<ScheduleKind>())
            Assert.True(double.IsFinite(Optimization.LearningRate(Options(epochs: 2, schedule), 5, StepsPerEpoch)));
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, "Adam")]
    [InlineData(OptimizerKind.AdamW, "AdamW")]
    [InlineData(OptimizerKind.Sgd, "SGD")]
    public void Create_Optimizer_MakesThatOptimizerWithItsRateAndDecay(OptimizerKind kind, string type)
    {
        using var p = new TorchSharp.Modules.Parameter(ones(2));

        using var optimizer = Optimization.Create(Options(optimizer: kind) with { LearningRate = 0.05, WeightDecay = 0.01 }, [p]);

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
        using var p = new TorchSharp.Modules.Parameter(ones(1, dtype: float64));
        using var optimizer = Optimization.Create(Options(optimizer: OptimizerKind.Sgd) with { Momentum = 0.9, Nesterov = nesterov }, [p]);

        optimizer.zero_grad();
        p.sum().backward();
        optimizer.step();

        Assert.Equal(expected, p.item<double>(), 12);
    }

    [Fact]
    public void SetLearningRate_NewRate_AppliesToEveryGroup()
    {
        using var p = new TorchSharp.Modules.Parameter(ones(2));
        using var optimizer = Optimization.Create(Options(optimizer: OptimizerKind.AdamW), [p]);

        Optimization.SetLearningRate(optimizer, 0.003);

        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.003, g.LearningRate, 12));
    }
}
