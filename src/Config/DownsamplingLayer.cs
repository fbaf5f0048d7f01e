namespace Repro.Config;

/// <summary>
/// A convolution or pooling layer that shrinks the feature map on an architecture's main path, with its name in the
/// model's state_dict / module tree (e.g. <c>features.transition3.pool</c>), so a test can find it in the real model.
/// </summary>
/// <param name="Name">The module's name in the model, as torchvision names it.</param>
/// <param name="Kernel">Square kernel size.</param>
/// <param name="Stride">Stride.</param>
/// <param name="Padding">Zero (or, for max pooling, -inf) padding on each side.</param>
public sealed record DownsamplingLayer(string Name, int Kernel, int Stride, int Padding)
{
    /// <summary>
    /// PyTorch's output size for an input of <paramref name="size"/> pixels (floor mode, dilation 1, as
    /// <c>Conv2d</c>, <c>MaxPool2d</c> and <c>AvgPool2d</c> compute it): floor((size + 2·padding − kernel) / stride) + 1,
    /// and 0 when the padded input is smaller than the kernel.
    /// </summary>
    public int Output(int size)
    {
        int span = size + 2 * Padding - Kernel;
        return span < 0 ? 0 : span / Stride + 1;
    }
}
