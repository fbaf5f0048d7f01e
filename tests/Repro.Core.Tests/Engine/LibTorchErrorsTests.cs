using Repro.Core.Engine;

namespace Repro.Core.Tests.Engine;

public sealed class LibTorchErrorsTests
{
    // As TorchSharp passes it on from c10::Error::what(): a crop too small for ResNet50's pooling.
    private const string PoolingTooSmall =
        "Given input size: (512x1x1). Calculated output size: (512x0x0). Output size is too small\n"
        + "Exception raised from pool2d_shape_check at /pytorch/aten/src/ATen/native/Pool.h:206 (most recent call first):\n"
        + "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x98 (0x7f3a2c9a4d18 in /app/runtimes/linux-x64/native/libc10.so)\n"
        + "frame #1: c10::detail::torchCheckFail(char const*, char const*, unsigned int, std::string const&) + 0x6a (0x7f3a2c94d5ee in /app/runtimes/linux-x64/native/libc10.so)\n"
        + "frame #2: <unknown function> + 0x1e3c0a5 (0x7f3a0f23c0a5 in /app/runtimes/linux-x64/native/libtorch_cpu.so)\n"
        + "frame #3: THSNN_AvgPool2d_forward + 0x4d (0x7f3a2cb1b2cd in /app/runtimes/linux-x64/native/libLibTorchSharp.so)\n";

    [Fact]
    public void Summary_LibTorchMessageWithFrameDump_MessageOnlyOnOneLine()
    {
        Assert.Equal("Given input size: (512x1x1). Calculated output size: (512x0x0). Output size is too small", LibTorchErrors.Summary(PoolingTooSmall));
    }

    [Fact]
    public void Summary_MultiLineMessageWithoutDump_JoinedWithSpaces()
    {
        Assert.Equal("shape mismatch: a vs b", LibTorchErrors.Summary("shape mismatch:\n  a vs b\n"));
    }

    [Fact]
    public void HasFrameDump_LibTorchMessage_True()
    {
        Assert.True(LibTorchErrors.HasFrameDump(PoolingTooSmall));
        Assert.False(LibTorchErrors.HasFrameDump("not an IDX image file"));
    }
}
