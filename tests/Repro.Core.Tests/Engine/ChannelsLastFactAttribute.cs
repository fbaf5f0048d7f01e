using Repro.Core.Engine;
using TorchSharp;
using static TorchSharp.torch;

namespace Repro.Core.Tests.Engine;

/// <summary>
/// A fact about channels-last convolutions on this CPU: skipped with the layout table's reason where its row refuses
/// channels-last (oneDNN would kill the test host with SIGFPE), rather than passing without checking anything.
/// </summary>
public sealed class ChannelsLastFactAttribute : FactAttribute
{
    public ChannelsLastFactAttribute() => Skip = ChannelsLastSkip.Reason;
}

/// <summary>A theory about channels-last convolutions, as <see cref="ChannelsLastFactAttribute"/>.</summary>
public sealed class ChannelsLastTheoryAttribute : TheoryAttribute
{
    public ChannelsLastTheoryAttribute() => Skip = ChannelsLastSkip.Reason;
}

internal static class ChannelsLastSkip
{
    public static string? Reason => InputFormat.ChannelsLastRefusal(DeviceType.CPU, X86Cpu.Current(), oneDnn: true) is { } why
        ? $"{why} (docs/benchmarks.md, \"Layout table\"); the NCHW form of this test runs here"
        : null;
}
