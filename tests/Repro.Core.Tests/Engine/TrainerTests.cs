using Repro.Config;
using Repro.Core.Engine;
using Repro.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

[Collection(LibTorchCollection.Name)]
public sealed class TrainerTests
{
    public static TheoryData<ModelKind, HeadKind, FreezeMode> Models()
    {
        var data = new TheoryData<ModelKind, HeadKind, FreezeMode>();
        foreach (var arch in Enum.GetValues<ModelKind>())
            foreach (var head in Enum.GetValues<HeadKind>())
                foreach (var freeze in Enum.GetValues<FreezeMode>())
                    data.Add(arch, head, freeze);
        return data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Step_EveryArchitectureHeadAndFreezing_EveryTrainableParameterGetsAGradient(ModelKind arch, HeadKind head, FreezeMode freeze)
    {
        // Trainer.AllocateGradients gives every trainable parameter a zero gradient before the first step; that changes
        // no update only where the first backward pass reaches every one of them.
        using var model = ModelBuilder.Build(arch, 3, head, freeze, null);
        model.SetTrainingMode(true);
        var trainable = model.TrainableParameters();
        var options = new TrainingOptions(1, 2, OptimizerKind.Sgd, 0.0);
        using var optimizer = Optimization.Create(options, trainable);
        using var generator = new Generator(1);
        using var scope = NewDisposeScope();

        Trainer.Step(optimizer, trainable.ToList(), model.Module, randn(2, 3, 32, 32, generator: generator), tensor(new long[] { 0, 2 }), 0.0, options);

        Assert.NotEmpty(trainable);
        Assert.All(trainable, p =>
        {
            using var grad = p.grad;
            Assert.NotNull(grad);
        });
    }

    [Fact]
    public void AllocateGradients_SomeWithoutGradient_ZeroWhereMissingAndKeepsTheOthers()
    {
        using var without = new Parameter(ones(2, 3));
        using var with = new Parameter(ones(4));
        using (var g = full(4, 7f))
            with.grad = g;

        Trainer.AllocateGradients([without, with]);

        using var zero = without.grad;
        using var kept = with.grad;
        Assert.Equal(new float[6], zero!.data<float>().ToArray());
        Assert.Equal(new long[] { 2, 3 }, zero.shape);
        Assert.Equal(Enumerable.Repeat(7f, 4), kept!.data<float>().ToArray());
    }
}
