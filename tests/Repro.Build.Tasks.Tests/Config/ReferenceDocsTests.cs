using Repro.Build.Tasks.Tests;

namespace Repro.Config.Tests;

/// <summary>docs/reference.md's generated tables: the committed file is the rendering of the code.</summary>
public sealed class ReferenceDocsTests
{
    private static string CommittedText() =>
        File.ReadAllText(Path.Combine(RepositoryRoot.Path, ReferenceDocs.RelativePath)).ReplaceLineEndings("\n");

    /// <summary>The committed table between the markers of <paramref name="part"/>.</summary>
    public static string CommittedPart(string part)
    {
        string text = CommittedText();
        int start = text.IndexOf($"<!-- generated: {part} ", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{ReferenceDocs.RelativePath} has no generated part '{part}'");
        int body = text.IndexOf('\n', start) + 1;
        return text[body..(text.IndexOf($"<!-- end: {part} -->", body, StringComparison.Ordinal))];
    }

    /// <summary>The first line where two texts differ, for a message a person can act on.</summary>
    private static string FirstDifference(string committed, string rendered)
    {
        string[] a = committed.Split('\n'), b = rendered.Split('\n');
        int i = 0;
        while (i < Math.Min(a.Length, b.Length) && a[i] == b[i])
            i++;
        return $"line {i + 1}:\n  committed: {(i < a.Length ? a[i] : "(end of file)")}\n  rendered:  {(i < b.Length ? b[i] : "(end of file)")}";
    }

    [Fact]
    public void Committed_EveryGeneratedPart_IsTheRenderingOfTheCode()
    {
        string committed = CommittedText();

        string rendered = ReferenceDocs.Render(committed);

        Assert.True(committed == rendered,
            $"{ReferenceDocs.RelativePath} differs from its rendering from src/Config (Schema, ErrorCodes) at {FirstDifference(committed, rendered)}\n" +
            $"Regenerate it with: {ReferenceDocs.Command}");
    }

    [Fact]
    public void Render_MarkersMissing_NamesThePart()
    {
        string text = CommittedText().Replace("<!-- end: error-codes -->", "", StringComparison.Ordinal);

        var e = Assert.Throws<InvalidDataException>(() => ReferenceDocs.Render(text));

        Assert.Contains("'error-codes'", e.Message);
    }

    [Fact]
    public void Render_StaleTable_ReplacedAndTextAroundKept()
    {
        string text = "intro\n<!-- generated: error-codes x -->\n| stale |\n<!-- end: error-codes -->\noutro\n"
            + "<!-- generated: dataset-keys -->\n<!-- end: dataset-keys -->\n<!-- generated: experiment-keys -->\n<!-- end: experiment-keys -->\n";

        string rendered = ReferenceDocs.Render(text);

        Assert.StartsWith("intro\n<!-- generated: error-codes x -->\n" + ErrorCodes.MarkdownTable() + "<!-- end: error-codes -->\noutro\n", rendered, StringComparison.Ordinal);
        Assert.Equal(rendered, ReferenceDocs.Render(rendered));
    }

    // The issue that moved these tables here found them drifted: seeds documented as re-running every stage, and
    // ResNet50's minimum crop given as 1 where the key's range starts at 8.
    [Fact]
    public void ExperimentKeys_SeedsAndCrop_DocumentWhatTheCodeDoes()
    {
        string table = CommittedPart("experiment-keys");

        Assert.Contains("| `seeds` | seeds | — | 1 – 1000 | none |", table);
        Assert.Contains($"resnet50 {Schema.MinimumCrop(ModelKind.ResNet50)}, densenet121 {ModelInput.MinimumCrop(ModelKind.DenseNet121)}", table);
        Assert.Equal(8, Schema.MinimumCrop(ModelKind.ResNet50));
    }
}
