using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Repro.Core.Tests;

/// <summary>
/// Text snapshots with Verify's conventions, so swapping Verify.Xunit in later is a package change (Verify cannot be
/// restored here): the accepted text lives beside the test file as <c>{TestClass}.{Method}.verified.txt</c>, or for a
/// parameterised test <c>{TestClass}.{Method}_{name}={value}_….verified.txt</c> as Verify's <c>UseParameters</c> names it
/// (LF endings); a mismatch or a missing verified file writes <c>….received.txt</c> beside it (git-ignored) and fails.
/// Accept a change by renaming received to verified after reading the diff.
/// </summary>
public static partial class Snapshot
{
    private const int DiffLines = 8;

    private const string PlatformHeader = "# numerics platform: ";

    /// <summary>
    /// Like <see cref="Verify"/> for text holding trained numbers: the snapshot's first line records the numerics platform
    /// it was accepted on. On that platform the text must be equal to the bit; on another (another CPU's kernels sum in
    /// another order, and training turns last bits into other numbers) every number is masked on both sides and only
    /// the rest must be equal, so the format stays locked everywhere while the numbers are checked where they can be.
    /// Reproducibility of numbers across platforms is VerifyExperiments' statistical check, not a snapshot's.
    /// </summary>
    public static void VerifyNumbersOnPlatform(string text, string platformId, (string Name, object? Value)[]? parameters = null, [CallerFilePath] string file = "", [CallerMemberName] string member = "")
    {
        text = PlatformHeader + platformId + " (numbers exact on this platform, masked on others)\n" + text.Replace("\r\n", "\n", StringComparison.Ordinal);
        string verifiedPath = Stem(file, member, parameters) + ".verified.txt";
        if (File.Exists(verifiedPath))
        {
            string verified = File.ReadAllText(verifiedPath).Replace("\r\n", "\n", StringComparison.Ordinal);
            string lockedOn = verified.StartsWith(PlatformHeader, StringComparison.Ordinal) ? verified[PlatformHeader.Length..].Split(' ', '\n')[0] : "";
            if (lockedOn.Length > 0 && lockedOn != platformId)
            {
                string Masked(string t) => Number().Replace(t[(t.IndexOf('\n', StringComparison.Ordinal) + 1)..], "{n}");
                if (Masked(verified) == Masked(text))
                    return;
                Assert.Fail($"snapshot format differs from {verifiedPath} (accepted on platform {lockedOn}, this is {platformId}; numbers masked):\n{Diff(Masked(verified), Masked(text))}");
            }
        }
        Verify(text, parameters, file, member);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"-?\d+(\.\d+)?([eE][-+]?\d+)?")]
    private static partial System.Text.RegularExpressions.Regex Number();

    /// <summary>Compares <paramref name="text"/> with the verified snapshot of the calling test.</summary>
    /// <param name="text">The text under test; CRLF is normalised to LF.</param>
    /// <param name="parameters">
    /// A theory's parameters, as Verify's <c>UseParameters(...)</c> takes them: each case gets its own snapshot named
    /// <c>…_{name}={value}</c>. Give the test method's own parameter names, in order from the first (a leading subset is
    /// allowed, as in Verify), e.g. <c>parameters: [("arch", arch)]</c>; Verify reads the names off the method, so other
    /// names would not survive the swap.
    /// </param>
    /// <param name="file">The caller's source file (compiler-supplied).</param>
    /// <param name="member">The caller's method (compiler-supplied).</param>
    public static void Verify(string text, (string Name, object? Value)[]? parameters = null, [CallerFilePath] string file = "", [CallerMemberName] string member = "")
    {
        string stem = Stem(file, member, parameters);
        string verifiedPath = stem + ".verified.txt";
        string receivedPath = stem + ".received.txt";
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);

        if (!File.Exists(verifiedPath))
        {
            File.WriteAllText(receivedPath, text, new UTF8Encoding(false));
            Assert.Fail($"no verified snapshot {verifiedPath}; wrote {receivedPath}: rename it to accept");
        }
        string verified = File.ReadAllText(verifiedPath).Replace("\r\n", "\n", StringComparison.Ordinal);
        if (verified == text)
        {
            File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, text, new UTF8Encoding(false));
        Assert.Fail($"snapshot differs from {verifiedPath} (received: {receivedPath}):\n{Diff(verified, text)}");
    }

    // Verify's file name: {TestClass}.{Method}, then "_name=value" per parameter.
    private static string Stem(string file, string member, (string Name, object? Value)[]? parameters)
    {
        var name = new StringBuilder($"{Path.GetFileNameWithoutExtension(file)}.{member}");
        foreach (var (parameterName, value) in parameters ?? [])
            name.Append('_').Append(parameterName).Append('=').Append(ParameterText(value));
        return Path.Combine(SourceDirectory(file), name.ToString());
    }

    // Like Verify: null as "null", numbers in the invariant culture (a snapshot's name must not depend on the machine's
    // locale), and characters some file system refuses as '-'. The list is fixed, not Path.GetInvalidFileNameChars(),
    // which on Linux omits Windows' characters and would name the same case differently there.
    private static string ParameterText(object? value)
    {
        string text = value switch
        {
            null => "null",
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "null",
        };
        return string.Concat(text.Select(c => c < ' ' || "\"\\<>|:*?/".Contains(c, StringComparison.Ordinal) ? '-' : c));
    }

    private static string Diff(string verified, string received)
    {
        var a = verified.Split('\n');
        var b = received.Split('\n');
        var lines = new List<string>();
        for (int i = 0; i < Math.Max(a.Length, b.Length) && lines.Count < 2 * DiffLines; i++)
        {
            string? x = i < a.Length ? a[i] : null;
            string? y = i < b.Length ? b[i] : null;
            if (x == y)
                continue;
            if (x is not null) lines.Add($"line {i + 1} - {x}");
            if (y is not null) lines.Add($"line {i + 1} + {y}");
        }
        return string.Join('\n', lines);
    }

    // CI builds (ContinuousIntegrationBuild) map source paths to /_/…; then the file is found again under the
    // project directory the build recorded in the assembly.
    private static string SourceDirectory(string file)
    {
        string directory = Path.GetDirectoryName(file) ?? "";
        if (Directory.Exists(directory))
            return directory;
        string project = typeof(Snapshot).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ReproTestProjectDirectory").Value!;
        string marker = "/" + Path.GetFileName(project.TrimEnd('/')) + "/";
        // A test file in the project's own folder maps to "/_/…/<project>" with no trailing separator.
        string mapped = directory.Replace('\\', '/').TrimEnd('/') + "/";
        int at = mapped.LastIndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
            throw new DirectoryNotFoundException($"cannot locate test source directory '{directory}' under '{project}'");
        return Path.Combine(project, mapped[(at + marker.Length)..]);
    }
}
