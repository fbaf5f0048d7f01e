using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Repro.Build.Tasks;

/// <summary>
/// The fingerprint of the code that computes results, recorded beside every locked result. It hashes what the
/// compilers read, as the compilers read it: C# as Roslyn's tokens and preprocessor directives (comments and layout
/// are trivia), F# with comments and trailing blanks removed (its indentation is syntax), project and package files
/// without XML comments. So a comment-only commit, a reformatted line or a stray untracked file (notes, editor
/// backups, anything that is not a .cs/.fs/.csproj/.fsproj/.props/.targets file) leaves it alone, while any change the
/// build would compile moves it. Sources rather than built DLLs, whose bytes differ between SDKs and machines.
/// </summary>
internal static partial class CodeFingerprint
{
    /// <summary>The file kinds a build compiles or reads for compilation.</summary>
    private static readonly string[] SourceExtensions = [".cs", ".fs", ".fsi", ".csproj", ".fsproj", ".props", ".targets"];

    /// <summary>16 hex digits of SHA-256 over the compiled files under <paramref name="paths"/> (folders or files, relative to <paramref name="root"/>).</summary>
    public static string Compute(string root, IEnumerable<string> paths)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (relative, full) in Files(root, paths))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(relative + "\n"));
            sha.AppendData(Encoding.UTF8.GetBytes(Normalize(full, File.ReadAllText(full))));
            sha.AppendData([0]);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>The compiled files, by path relative to the root ('/' separators, ordinal order); bin/ and obj/ left out.</summary>
    internal static IEnumerable<(string Relative, string Full)> Files(string root, IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            string full = Path.GetFullPath(Path.Combine(root, p));
            if (File.Exists(full))
                files.Add(full);
            else if (Directory.Exists(full))
                files.AddRange(Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                    .Where(f => SourceExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Where(f => !Path.GetRelativePath(full, f).Split('/', '\\').Any(part => part is "bin" or "obj")));
        }
        return files.Select(f => (Path.GetRelativePath(root, f).Replace('\\', '/'), f)).OrderBy(f => f.Item1, StringComparer.Ordinal);
    }

    /// <summary>What the compiler sees of a file: one token or directive per line for C#, comment-free text otherwise.</summary>
    internal static string Normalize(string path, string text)
    {
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".cs" => CSharpTokens(text),
            ".fs" or ".fsi" => FSharpWithoutComments(text),
            _ => XmlComment().Replace(text, "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).Aggregate(new StringBuilder(), (b, l) => b.Append(l).Append('\n')).ToString(),
        };
    }

    private static string CSharpTokens(string text)
    {
        var tree = CSharpSyntaxTree.ParseText(text);
        var result = new StringBuilder();
        foreach (var token in tree.GetRoot().DescendantTokens(descendIntoTrivia: false))
        {
            // #if/#define change what compiles; they are the only trivia that matters.
            foreach (var trivia in token.LeadingTrivia.Where(t => t.IsDirective))
                result.Append(trivia.ToString().Trim()).Append('\n');
            result.Append(token.Text).Append('\n');
        }
        return result.ToString();
    }

    /// <summary>
    /// F# source without (* *) and // comments, trailing blanks and blank lines. Strings ("…", @"…", """…""") and
    /// character literals are copied as they are, so a "//" inside one stays; leading indentation is kept (it is syntax).
    /// </summary>
    internal static string FSharpWithoutComments(string text)
    {
        var output = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            char next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '(' && next == '*' && !(i + 2 < text.Length && text[i + 2] == ')')) // "(*)" is the multiplication operator
                i = EndOfBlockComment(text, i);
            else if (c == '/' && next == '/')
                i = EndOfLine(text, i);
            else if (c == '"')
                i = CopyString(text, i, output);
            else if (CharacterLiteralEnd(text, i) is { } end)
            {
                output.Append(text, i, end - i + 1);
                i = end;
            }
            else
                output.Append(c);
        }
        return string.Join('\n', output.ToString().Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0)) + "\n";
    }

    /// <summary>The index of the ')' closing the (possibly nested) (* *) comment that starts at <paramref name="start"/>.</summary>
    private static int EndOfBlockComment(string text, int start)
    {
        int depth = 0;
        for (int i = start; i < text.Length - 1; i++)
        {
            if (text[i] == '(' && text[i + 1] == '*') { depth++; i++; }
            else if (text[i] == '*' && text[i + 1] == ')' && --depth == 0) return i + 1;
        }
        return text.Length - 1;
    }

    /// <summary>Skips a // comment: the index before its line end, which is kept.</summary>
    private static int EndOfLine(string text, int start)
    {
        int end = text.IndexOf('\n', start);
        return end < 0 ? text.Length - 1 : end - 1;
    }

    /// <summary>The end of the character literal 'x' or '\n' at <paramref name="i"/>; null for anything else ('T, a type parameter).</summary>
    private static int? CharacterLiteralEnd(string text, int i) =>
        text[i] != '\'' ? null
        : i + 2 < text.Length && text[i + 2] == '\'' ? i + 2
        : i + 3 < text.Length && text[i + 1] == '\\' && text[i + 3] == '\'' ? i + 3
        : null;

    /// <summary>Copies the string literal starting at <paramref name="start"/> (a '"'); returns the index of its last character.</summary>
    private static int CopyString(string text, int start, StringBuilder output)
    {
        bool verbatim = start > 0 && text[start - 1] == '@';
        if (string.CompareOrdinal(text, start, "\"\"\"", 0, 3) == 0)
        {
            int close = text.IndexOf("\"\"\"", start + 3, StringComparison.Ordinal);
            int end = close < 0 ? text.Length - 1 : close + 2;
            output.Append(text, start, end - start + 1);
            return end;
        }
        int i = start + 1;
        while (i < text.Length)
        {
            if (!verbatim && text[i] == '\\') { i += 2; continue; }
            if (text[i] == '"')
            {
                if (verbatim && i + 1 < text.Length && text[i + 1] == '"') { i += 2; continue; }
                break;
            }
            i++;
        }
        int last = Math.Min(i, text.Length - 1);
        output.Append(text, start, last - start + 1);
        return last;
    }

    [GeneratedRegex("<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex XmlComment();
}
