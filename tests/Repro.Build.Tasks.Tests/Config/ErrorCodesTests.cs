using System.Reflection;
using System.Text.RegularExpressions;
using Repro.Build.Tasks.Tests;

namespace Repro.Config.Tests;

/// <summary>The error-code catalogue: one meaning per code, every code used is in it, and docs/reference.md shows it.</summary>
public sealed partial class ErrorCodesTests
{
    [GeneratedRegex(@"\bREPRO\d{3}\b")]
    private static partial Regex CodeLiteral();

    // A code in quotes is a use site; those must name the constant instead (comments and prose may cite a code).
    [GeneratedRegex("\"REPRO\\d{3}\"")]
    private static partial Regex QuotedCodeLiteral();

    private static readonly string[] Scanned = ["src", "build", "tests", "docs", "scripts", "README.md", "experiments.yaml"];

    private static readonly string[] TextExtensions = [".cs", ".fs", ".targets", ".props", ".md", ".yaml", ".py", ".sh", ".txt"];

    /// <summary>Every text file of the repository's sources, tests and docs (build outputs excluded).</summary>
    private static IEnumerable<string> SourceFiles()
    {
        foreach (var entry in Scanned)
        {
            string path = Path.Combine(RepositoryRoot.Path, entry);
            if (File.Exists(path))
                yield return path;
            else if (Directory.Exists(path))
                foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
                    if (TextExtensions.Contains(Path.GetExtension(file))
                        && !file.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "artifacts" or "node_modules"))
                        yield return file;
        }
    }

    private static IEnumerable<string> Constants() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void All_Codes_AreDistinct()
    {
        var shared = ErrorCodes.All.GroupBy(e => e.Code).Where(g => g.Count() > 1).Select(g => g.Key);
        Assert.Empty(shared);
    }

    [Fact]
    public void Constants_EachValue_IsOneDistinctCatalogueEntry()
    {
        var constants = Constants().ToList();
        Assert.Equal(constants.Count, constants.Distinct().Count());
        Assert.Equal(constants.Order(), ErrorCodes.All.Select(e => e.Code).Order());
    }

    [Fact]
    public void All_Entries_HaveCodeMeaningAndExample() =>
        Assert.All(ErrorCodes.All, e =>
        {
            Assert.Matches(@"^REPRO\d{3}$", e.Code);
            Assert.False(string.IsNullOrWhiteSpace(e.Meaning), e.Code);
            Assert.False(string.IsNullOrWhiteSpace(e.Example), e.Code);
        });

    [Fact]
    public void SourceFiles_EveryCodeLiteral_IsInTheCatalogue()
    {
        var unknown = (from file in SourceFiles()
                       from Match m in CodeLiteral().Matches(File.ReadAllText(file))
                       where ErrorCodes.Find(m.Value) is null
                       select $"{Path.GetRelativePath(RepositoryRoot.Path, file)}: {m.Value}").Distinct();
        Assert.Empty(unknown);
    }

    [Fact]
    public void ProductCode_QuotedCodeLiterals_OnlyInTheCatalogue()
    {
        string catalogue = Path.Combine(RepositoryRoot.Path, "src", "Config", "ErrorCodes.cs");
        var quoted = from file in SourceFiles()
                     where Path.GetExtension(file) is ".cs" or ".fs" && file != catalogue
                     where !Path.GetRelativePath(RepositoryRoot.Path, file).StartsWith("tests", StringComparison.Ordinal)
                     from Match m in QuotedCodeLiteral().Matches(File.ReadAllText(file))
                     select $"{Path.GetRelativePath(RepositoryRoot.Path, file)}: {m.Value}";
        Assert.Empty(quoted);
    }

    [Fact]
    public void Reference_ErrorCodesTable_IsTheCatalogueRendered() =>
        Assert.Equal(ErrorCodes.MarkdownTable(), ReferenceDocsTests.CommittedPart("error-codes"));
}
