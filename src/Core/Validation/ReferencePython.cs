using Repro.Config.IO;

namespace Repro.Core.Validation;

/// <summary>The Python with PyTorch and torchvision that the parity checks compare against (Debian's /usr/bin/python3).</summary>
public static class ReferencePython
{
    /// <summary>Debian's python3, which python3-torch and python3-torchvision install into.</summary>
    public const string Default = "/usr/bin/python3";

    /// <summary>Runs a script of the repository's scripts/ folder, failing with its output when it fails.</summary>
    public static string RunScript(string python, string script, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var (code, output) = ChildProcess.Run(python, [script, .. arguments], timeout);
        if (code != 0)
            throw new InvalidOperationException($"{script} failed (exit code {code}): {output.Trim()}");
        return output;
    }
}
