using Repro.Config;
using Repro.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Models;

public class StateDictTests
{
    [Theory]
    [InlineData("resnet50", 320, 25_557_032)]
    [InlineData("densenet121", 727, 7_978_856)]
    public void StateDict_ImageNetModel_EqualsTorchvisionListing(string arch, int entries, long parameters)
    {
        using var model = Zoo.Create(Choice.Parse<ModelKind>(arch), 1000);
        var expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Models", "Reference", $"torchvision-{arch}-1000classes.state_dict.txt"))
            .Where(l => !l.StartsWith('#') && l.Length > 0)
            .ToList();
        var actual = Checkpoint.StateDict(model).Select(e => $"{e.Name}\t{PythonShape(e.Tensor.shape)}\t{e.Tensor.dtype.ToString().ToLowerInvariant()}").ToList();

        Assert.Equal(entries, expected.Count);
        Assert.Equal(expected, actual);
        Assert.Equal(parameters, model.parameters().Sum(p => p.numel()));
    }

    // Python's str() of a shape tuple: (), (64,), (64, 3, 7, 7).
    private static string PythonShape(long[] shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0]},)",
        _ => "(" + string.Join(", ", shape) + ")",
    };
}
