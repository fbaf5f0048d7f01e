using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>One key as an experiment entry writes it: the key, its value node, and the value's text after a matrix
/// combination filled in its <c>{axis}</c> templates (null: the node's own text).</summary>
internal sealed record WrittenKey(string Key, YamlNode KeyNode, YamlNode Value, string? Text = null);

/// <summary>
/// The errors of one experiments.yaml and the shape checks every part of its walk shares. An error reported again at
/// the same place with the same message (a matrix's shared key, read once per combination) is kept once.
/// </summary>
internal sealed class YamlChecks(string path)
{
    /// <summary>Keys that only an experiment entry with a matrix may hold.</summary>
    public static readonly IReadOnlyList<string> MatrixKeys = ["matrix", "include", "exclude"];

    private readonly List<ConfigError> errors = [];
    private readonly HashSet<ConfigError> seen = [];

    public string Path => path;

    public IReadOnlyList<ConfigError> Errors => errors;

    public void Error(YamlNode? node, string code, string message)
    {
        var error = new ConfigError(path, node is null ? 1 : (int)node.Start.Line, node is null ? 1 : (int)node.Start.Column, code, message);
        if (seen.Add(error))
            errors.Add(error);
    }

    public YamlMappingNode? AsMapping(YamlNode node, string what)
    {
        if (node is YamlMappingNode map)
            return map;
        Error(node, ErrorCodes.NotMapping, $"{what} must be a mapping of 'key: value' lines");
        return null;
    }

    /// <summary>A mapping key as text; a list or mapping used as a key is an error rather than a crash.</summary>
    public string? KeyOf(YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } key })
            return key;
        Error(node, ErrorCodes.KeyNotPlainWord, "a key must be a plain word, not a list or mapping");
        return null;
    }

    /// <summary>The keys of <paramref name="map"/> in file order (keys that are not words are reported and left out).</summary>
    public IReadOnlyList<WrittenKey> KeysOf(YamlMappingNode map) =>
        [.. map.Children.Select(c => KeyOf(c.Key) is { } key ? new WrittenKey(key, c.Key, c.Value) : null).OfType<WrittenKey>()];

    public void Unknown(YamlNode node, string key, IEnumerable<string> known) =>
        Error(node, ErrorCodes.UnknownKey, key switch
        {
            "matrix" => "'matrix' goes in an entry of the 'experiments:' list",
            "include" or "exclude" => $"'{key}' only goes in an experiment that has 'matrix:'",
            _ => $"unknown key '{key}'" + SettingReader.Hint(Schema.Suggest(key, known)),
        });
}
