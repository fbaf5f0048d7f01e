using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>
/// One experiment as written, before the built-in defaults fill it in: its values (<c>defaults:</c>, then its own keys)
/// and where each key was written, so that an error points at the value causing it.
/// </summary>
/// <param name="Node">The entry in the <c>experiments:</c> list (a matrix's, for each of its combinations): errors about the whole entry point here.</param>
/// <param name="Written">The value node of a key this entry writes, or null when the key came from <c>defaults:</c>.</param>
/// <param name="Context">Prefixed to this entry's error messages (a matrix combination names itself there); empty for a written entry.</param>
internal sealed record ExperimentEntry(YamlNode Node, Dictionary<string, object?> Values, Func<string, YamlNode?> Written, string Context = "")
{
    /// <summary>The line of the entry: the experiment's <see cref="ExperimentSpec.Line"/>.</summary>
    public int Line => (int)Node.Start.Line;

    /// <summary>Where the first of <paramref name="keys"/> that the entry writes was written; the entry when none is.</summary>
    public YamlNode NodeOf(IEnumerable<string> keys) => keys.Select(Written).FirstOrDefault(n => n is not null) ?? Node;

    /// <summary>The value node of <paramref name="key"/> in <paramref name="map"/>, or null.</summary>
    public static YamlNode? ValueOf(YamlMappingNode map, string key) =>
        map.Children.FirstOrDefault(c => c.Key is YamlScalarNode { Value: { } k } && k == key).Value;
}
