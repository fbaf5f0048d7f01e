using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Repro.Core.Models;

/// <summary>
/// The projection shortcut of a ResNet block whose shape changes: a bias-free 1x1 convolution with stride
/// <c>s</c>, then batch normalisation, as torchvision's <c>nn.Sequential(conv1x1(inplanes, planes, stride),
/// BatchNorm2d(planes))</c>. Children are named <c>0</c> and <c>1</c>, so the state_dict keys are torchvision's
/// (<c>layer2.0.downsample.0.weight</c>, <c>layer2.0.downsample.1.running_mean</c>, …).
/// </summary>
/// <remarks>
/// The stride is taken by subsampling the input, <c>x[:, :, ::s, ::s]</c>, and convolving with stride 1: a 1x1
/// kernel with stride <c>s</c> and no padding reads exactly those pixels, so values and gradients are the same
/// (DownsampleTests). Why not the strided convolution: in LibTorch 2.10 its backward goes through oneDNN's
/// <c>brgemm_convolution_bwd_strided_t::pd_t::init</c>, whose <c>brg_blocking_t::est_eff_1x1()</c>
/// (src/cpu/x64/jit_brgemm_conv_bwd_utils.cpp) divides by <c>min(2, dim / block)</c>, which is 0 for some blockings:
/// on AMD Zen 5 VMs whose CPUID hides the cache topology the process dies with SIGFPE in backward of a 1x1
/// stride-2 convolution with 512 or more input channels, i.e. ResNet50's layer3.0 and layer4.0 shortcuts, at
/// every crop. A stride-1 convolution takes another oneDNN path. One code path on every CPU, so that results do
/// not depend on which machine would have crashed.
/// </remarks>
public sealed class Downsample : Module<Tensor, Tensor>, IHasConvBn
{
    // torchvision's Sequential indices, in its order: the state_dict keys are downsample.0.*, downsample.1.*.
    [ComponentName(Name = "0")]
    private readonly Conv2d conv;
    [ComponentName(Name = "1")]
    private readonly BatchNorm2d bn;
    private readonly long stride;
    private readonly ConvBn pair;

    /// <summary>Projects <paramref name="inplanes"/> channels to <paramref name="outplanes"/>, taking every <paramref name="stride"/>-th pixel in height and width.</summary>
    public Downsample(long inplanes, long outplanes, long stride) : base(nameof(Downsample))
    {
        conv = Conv2d(inplanes, outplanes, kernel_size: 1, stride: 1, bias: false);
        bn = new BatchNorm2d(outplanes);
        this.stride = stride;
        pair = new ConvBn(conv, bn);
        RegisterComponents();
    }

    /// <inheritdoc />
    public IEnumerable<ConvBn> ConvBnPairs => [pair];

    /// <summary>
    /// Runs the plain strided convolution (the form that crashes on the machines described above) instead of the
    /// subsampled one: only for the equivalence test and the benchmark that compare the two.
    /// </summary>
    internal bool Strided { get; set; }

    /// <summary>bn(conv1x1(x[:, :, ::s, ::s])): (N, inplanes, H, W) -> (N, outplanes, ceil(H / s), ceil(W / s)).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (Strided)
        {
            // The convolution module's forward hook does not fire here; model summaries use the subsampled form.
            return bn.call(functional.conv2d(x, conv.weight!, strides: [stride, stride])).MoveToOuterDisposeScope();
        }
        var input = stride == 1 ? x : x.slice(2, 0, x.shape[2], stride).slice(3, 0, x.shape[3], stride);
        return pair.Forward(input).MoveToOuterDisposeScope();
    }
}
