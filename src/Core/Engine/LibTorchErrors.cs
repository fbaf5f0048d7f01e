namespace Repro.Core.Engine;

/// <summary>
/// LibTorch's errors reach .NET with the C++ exception's full text: the message, then "Exception raised from … (most
/// recent call first):" and a dozen frame lines that mean nothing to a person running an experiment.
/// </summary>
public static class LibTorchErrors
{
    private const string FrameDump = "Exception raised from ";

    /// <summary>The message alone, on one line: cut where the frame dump starts, line breaks made spaces.</summary>
    public static string Summary(string message)
    {
        int dump = message.IndexOf(FrameDump, StringComparison.Ordinal);
        string text = dump >= 0 ? message[..dump] : message;
        return string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <summary>True when <paramref name="message"/> carries LibTorch's frame dump (what --verbose shows in full).</summary>
    public static bool HasFrameDump(string message) => message.Contains(FrameDump, StringComparison.Ordinal);
}
