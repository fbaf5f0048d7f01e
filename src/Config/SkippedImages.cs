using System.Globalization;

namespace Repro.Config;

/// <summary>
/// How images left out by <c>skip_corrupt</c> are named in the split stage's console line, report.md and
/// results.md. It lives here because both src/Core (which skips them) and the build tasks (which only read
/// metrics.json) write it, and the build tasks do not reference src/Core.
/// </summary>
public static class SkippedImages
{
    /// <summary>How many file names a one-line description lists before "and N more".</summary>
    public const int Listed = 3;

    /// <summary>
    /// "2 unreadable images skipped: a/x.jpg, b/y.png", or with more than <see cref="Listed"/> files
    /// "5 unreadable images skipped: a, b, c and 2 more"; files in ordinal order. Empty when none.
    /// </summary>
    public static string Describe(IReadOnlyCollection<string> files)
    {
        if (files.Count == 0)
            return "";
        var names = files.Order(StringComparer.Ordinal).ToList();
        string list = string.Join(", ", names.Take(Listed));
        if (names.Count > Listed)
            list += string.Create(CultureInfo.InvariantCulture, $" and {names.Count - Listed} more");
        return string.Create(CultureInfo.InvariantCulture, $"{files.Count} unreadable {(files.Count == 1 ? "image" : "images")} skipped: {list}");
    }
}
