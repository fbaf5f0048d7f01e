using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class IntermediatesTests
{
    [Fact]
    public void Then_NextReturnsANewTensor_ReleasesTheInputAtOnce()
    {
        var x = ones(4);
        using var y = x.Then(t => t.mul(2));
        Assert.True(x.IsInvalid);
        Assert.Equal([2f, 2f, 2f, 2f], y.data<float>().ToArray());
    }

    [Fact]
    public void Then_InPlaceModule_KeepsItsResultUsable()
    {
        using var relu = nn.ReLU(inplace: true);
        var x = tensor(new[] { -1f, 2f });
        using var y = x.Then(relu.call).Then(t => t.add(1));
        Assert.Equal([1f, 3f], y.data<float>().ToArray());
    }

    [Fact]
    public void Then_DuringTraining_BackwardStillReadsWhatAutogradSaved()
    {
        // Released handles of saved activations (the convolution's output that BatchNorm's backward reads) must not
        // take them from the graph.
        using var conv = nn.Conv2d(2, 3, 3, padding: 1);
        using var bn = new BatchNorm2d(3);
        using var input = randn(4, 2, 5, 5, generator: new Generator(1));
        using var expected = bn.call(conv.call(input)).square().sum();
        expected.backward();
        using var expectedGrad = conv.weight!.grad!.clone();
        conv.zero_grad();
        using var loss = conv.call(input).Then(bn.call).Then(t => t.square().sum());
        loss.backward();
        Assert.True(conv.weight!.grad!.allclose(expectedGrad, rtol: 1e-5, atol: 1e-6));
    }
}
