using Repro.Core.Engine;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// What the torchvision ports (<see cref="ResNet"/>, <see cref="DenseNet"/>) share: replacing the classifier head
/// under its state_dict name, and the initialisation loop of torchvision/models/resnet.py and densenet.py.
/// </summary>
internal static class TorchvisionModules
{
    /// <summary>Stores <paramref name="head"/> in <paramref name="field"/> and registers it as <paramref name="name"/> in place of the old head.</summary>
    public static void ReplaceClassifier(Module owner, string name, ref Module<Tensor, Tensor> field, Module<Tensor, Tensor> head)
    {
        // Registering a null module unregisters the old head; TorchSharp refuses to register a name twice.
        owner.register_module(name, null!);
        field = head;
        owner.register_module(name, head);
    }

    /// <summary>
    /// torchvision's <c>for m in self.modules()</c> loop: <paramref name="initConvolution"/> on each convolution's
    /// weight, BatchNorm weight 1 / bias 0 and, with <paramref name="zeroLinearBias"/>, Linear bias 0. The modules are
    /// visited in registration order, which fixes the order of the random draws and so every initial weight.
    /// </summary>
    public static void InitializeWeights(Module model, Action<Tensor> initConvolution, bool zeroLinearBias)
    {
        using var _ = no_grad();
        using var s = new HeldScalars();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    initConvolution(conv.weight);
                    break;
                case BatchNorm2d bn:
                    init.constant_(bn.weight, s.Of(1));
                    init.constant_(bn.bias, s.Of(0));
                    break;
                case Linear linear when zeroLinearBias && linear.bias is not null:
                    init.constant_(linear.bias, s.Of(0));
                    break;
            }
        }
    }
}
