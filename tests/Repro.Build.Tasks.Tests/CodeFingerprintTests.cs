namespace Repro.Build.Tasks.Tests;

public sealed class CodeFingerprintTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("repro-code-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private string Fingerprint() => CodeFingerprint.Compute(root, ["src", "Directory.Packages.props"]);

    private void Write(string relative, string text)
    {
        string path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private void Project()
    {
        Write("Directory.Packages.props", "<Project>\n  <!-- versions -->\n  <ItemGroup><PackageVersion Include=\"A\" Version=\"1.0\" /></ItemGroup>\n</Project>\n");
        Write("src/Core/Core.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />\n");
        Write("src/Core/Math.cs", "namespace M;\n\n/// <summary>Adds.</summary>\npublic static class Math\n{\n    public static int Add(int a, int b) => a + b; // sum\n}\n");
        Write("src/Host/Program.fs", "module Program\n\n(* entry *)\nlet main _ =\n    printfn \"// not a comment\" // a comment\n    0\n");
    }

    [Fact]
    public void Compute_CommentsAndLayoutChanged_SameFingerprint()
    {
        Project();
        string before = Fingerprint();
        Write("src/Core/Math.cs", "namespace M;\n/* rewritten docs */\npublic static class Math {\n  public static int Add(int a, int b)\n      => a + b;\n}\n");
        Write("src/Host/Program.fs", "module Program\n\n// entry point\nlet main _ =   \n    printfn \"// not a comment\"\n\n    0\n");
        Write("Directory.Packages.props", "<Project>\n  <ItemGroup><PackageVersion Include=\"A\" Version=\"1.0\" /></ItemGroup>\n</Project>\n");

        Assert.Equal(before, Fingerprint());
    }

    [Fact]
    public void Compute_StrayUntrackedFiles_SameFingerprint()
    {
        Project();
        string before = Fingerprint();
        Write("src/Core/notes.txt", "todo");
        Write("src/Core/Math.cs.orig", "old");
        Write("src/Core/bin/Debug/Core.cs", "class Generated {}");

        Assert.Equal(before, Fingerprint());
    }

    [Theory]
    [InlineData("src/Core/Math.cs", "namespace M;\npublic static class Math\n{\n    public static int Add(int a, int b) => a - b;\n}\n")]
    [InlineData("src/Host/Program.fs", "module Program\n\nlet main _ =\n    printfn \"// changed\"\n    0\n")]
    [InlineData("src/Host/Program.fs", "module Program\n\nlet main _ =\n    printfn \"// not a comment\"\n    1\n")]
    [InlineData("Directory.Packages.props", "<Project>\n  <ItemGroup><PackageVersion Include=\"A\" Version=\"1.1\" /></ItemGroup>\n</Project>\n")]
    [InlineData("src/Core/Extra.cs", "namespace M;\npublic static class Extra { }\n")]
    public void Compute_CodeChanged_NewFingerprint(string file, string text)
    {
        Project();
        string before = Fingerprint();

        Write(file, text);

        Assert.NotEqual(before, Fingerprint());
    }

    [Fact]
    public void Compute_PreprocessorDirectiveChanged_NewFingerprint()
    {
        Project();
        Write("src/Core/Flag.cs", "#define FAST\nnamespace M;\n");
        string before = Fingerprint();

        Write("src/Core/Flag.cs", "#define SLOW\nnamespace M;\n");

        Assert.NotEqual(before, Fingerprint());
    }

    [Fact]
    public void FSharpWithoutComments_StringsKeptNestedBlockCommentsRemoved() =>
        Assert.Equal("let s = \"a // b (* c *)\"\nlet t = @\"x\"\"//\"\nlet u = 1\n",
            CodeFingerprint.FSharpWithoutComments("let s = \"a // b (* c *)\" // end\n(* outer (* inner *) still *)\nlet t = @\"x\"\"//\"\nlet u = 1 (* tail *)\n"));
}
