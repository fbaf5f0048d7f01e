using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Repro.Config;

/// <summary>A problem in experiments.yaml, with the position editors and CI annotate.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Code, string Message)
{
    public override string ToString() => $"{File}({Line},{Column}): error {Code}: {Message}";
}

/// <summary>experiments.yaml, validated: every error in the file is collected before anything runs.</summary>
public sealed class ExperimentsFile
{
    private ExperimentsFile(string path, IReadOnlyDictionary<string, DatasetSpec> datasets, IReadOnlyList<ExperimentSpec> experiments, IReadOnlyList<ConfigError> errors)
    {
        Path = path;
        Datasets = datasets;
        Experiments = experiments;
        Errors = errors;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, DatasetSpec> Datasets { get; }

    public IReadOnlyList<ExperimentSpec> Experiments { get; }

    public IReadOnlyList<ConfigError> Errors { get; }

    /// <summary>Reads and validates a file; never throws for bad content (see <see cref="Errors"/>).</summary>
    public static ExperimentsFile Load(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
            return Failed(full, new ConfigError(full, 0, 0, ErrorCodes.ConfigNotFound, "file not found"));
        using var reader = new StreamReader(full);
        return Parse(reader, full);
    }

    /// <summary>Parses YAML text; <paramref name="path"/> names the file in errors and anchors relative paths.</summary>
    public static ExperimentsFile Parse(TextReader text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(text);
        }
        catch (YamlException e)
        {
            return Failed(path, new ConfigError(path, (int)e.Start.Line, (int)e.Start.Column, ErrorCodes.YamlSyntax, $"YAML syntax error: {Inner(e)}"));
        }
        return new Validator(path).Run(stream);
    }

    private static string Inner(YamlException e)
    {
        // YamlDotNet prefixes messages with "(Line: …, Col: …)"; the position is reported separately.
        string message = e.InnerException is YamlException inner ? inner.Message : e.Message;
        int close = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && close > 0 ? message[(close + 3)..] : message;
    }

    private static ExperimentsFile Failed(string path, ConfigError error) =>
        new(path, new Dictionary<string, DatasetSpec>(), [], [error]);

    /// <summary>
    /// The walk over the file: sections, datasets, then each experiment's keys (through <see cref="SettingReader"/>),
    /// its name, dataset and the cross-field <see cref="ExperimentRules"/>. Every error is collected; none stops the walk.
    /// </summary>
    private sealed class Validator
    {
        private static readonly string[] Sections = ["defaults", "datasets", "experiments"];

        /// <summary>What <c>defaults:</c> may set: every experiment key but the name.</summary>
        private static readonly IReadOnlyList<SettingSpec> DefaultKeys = [.. Schema.ExperimentKeys.Where(k => k.Key != "name")];

        private static readonly char[] NotInNames = [.. System.IO.Path.GetInvalidFileNameChars(), ';', ' '];

        private readonly string path;
        private readonly string baseDir;
        private readonly SettingReader reader;
        private readonly List<ConfigError> errors = [];
        private readonly Dictionary<string, object?> defaults = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DatasetSpec> datasets = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> names = new(StringComparer.Ordinal);
        private readonly List<ExperimentSpec> experiments = [];

        public Validator(string path)
        {
            this.path = path;
            baseDir = System.IO.Path.GetDirectoryName(path) ?? ".";
            reader = new SettingReader(baseDir, Error);
        }

        public ExperimentsFile Run(YamlStream stream)
        {
            if (Root(stream) is { } root && ReadSections(root) is { } list)
                foreach (var node in list.Children)
                    if (AsMapping(node, "an experiment") is { } map)
                        Add(ExperimentEntry.Of(map, ReadSettings(map, new(defaults, StringComparer.Ordinal), Schema.ExperimentKeys)));
            return new ExperimentsFile(path, datasets, experiments, errors);
        }

        private YamlMappingNode? Root(YamlStream stream)
        {
            var node = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
            if (node is YamlMappingNode root)
                return root;
            Error(node, ErrorCodes.FileNotMapping, "the file must be a mapping with 'experiments:' (and optionally 'defaults:' and 'datasets:')");
            return null;
        }

        /// <summary>Reads <c>defaults:</c> and <c>datasets:</c>; returns the <c>experiments:</c> list, or null (reported).</summary>
        private YamlSequenceNode? ReadSections(YamlMappingNode root)
        {
            YamlSequenceNode? list = null;
            // "no 'experiments:' list" would only repeat an 'experiments:' already reported as not a list.
            bool notList = false;
            foreach (var (keyNode, value) in root.Children)
            {
                switch (KeyOf(keyNode))
                {
                    case null:
                        break;
                    case "defaults":
                        if (AsMapping(value, "defaults") is { } d)
                            ReadSettings(d, defaults, DefaultKeys);
                        break;
                    case "datasets":
                        if (AsMapping(value, "datasets") is { } ds)
                            ReadDatasets(ds);
                        break;
                    case "experiments":
                        list = value as YamlSequenceNode;
                        if (notList = list is null)
                            Error(value, ErrorCodes.ExperimentsNotList, "'experiments' must be a list of experiments (each item starts with '- name:')");
                        break;
                    case var key:
                        Unknown(keyNode, key, Sections);
                        break;
                }
            }
            if (list is null && !notList)
                Error(root, ErrorCodes.NoExperimentsList, "no 'experiments:' list");
            return list;
        }

        /// <summary>Checks an entry's name, dataset and cross-field rules; adds its spec unless its name or dataset is missing.</summary>
        private void Add(ExperimentEntry entry)
        {
            if (NameOf(entry) is not { } name)
                return;
            foreach (var spec in Schema.ExperimentKeys)
                entry.Values.TryAdd(spec.Key, spec.Default);
            if (DatasetOf(entry, name) is not { } dataset)
                return;
            var experiment = Schema.ToSpec(name, entry.Line, dataset, entry.Values);
            foreach (var (rule, violation) in ExperimentRules.Violations(experiment, baseDir))
                Error(entry.NodeOf(violation.Keys), rule.Code, entry.Context + violation.Message);
            experiments.Add(experiment);
        }

        private string? NameOf(ExperimentEntry entry)
        {
            if (entry.Values.GetValueOrDefault("name") is not string name || name.Length == 0)
            {
                Error(entry.Node, ErrorCodes.ExperimentWithoutName, entry.Context + "an experiment needs a 'name'");
                return null;
            }
            var nameNode = entry.NodeOf(["name"]);
            if (name.IndexOfAny(NotInNames) >= 0)
                Error(nameNode, ErrorCodes.NameNotFolderName, $"{entry.Context}experiment name '{name}' must be usable as a folder name (no spaces, ';' or '/')");
            if (names.TryGetValue(name, out int firstLine))
                Error(nameNode, ErrorCodes.DuplicateName, $"{entry.Context}duplicate experiment name '{name}' (first defined on line {firstLine})");
            else
                names[name] = entry.Line;
            return name;
        }

        private DatasetSpec? DatasetOf(ExperimentEntry entry, string name)
        {
            if (entry.Values["dataset"] is not string datasetName)
            {
                Error(entry.Node, ErrorCodes.ExperimentWithoutDataset, $"{entry.Context}experiment '{name}' needs a 'dataset' (one of: {string.Join(", ", datasets.Keys)})");
                return null;
            }
            if (datasets.TryGetValue(datasetName, out var dataset))
                return dataset;
            Error(entry.NodeOf(["dataset"]), ErrorCodes.UnknownDataset, $"{entry.Context}unknown dataset '{datasetName}'"
                + SettingReader.Hint(Schema.Suggest(datasetName, datasets.Keys)) + $" (defined: {string.Join(", ", datasets.Keys)})");
            return null;
        }

        private void ReadDatasets(YamlMappingNode map)
        {
            foreach (var (keyNode, value) in map.Children)
                if (KeyOf(keyNode) is { } name && AsMapping(value, $"dataset '{name}'") is { } entry && ReadDataset(name, entry) is { } dataset)
                    datasets[name] = dataset;
        }

        private DatasetSpec? ReadDataset(string name, YamlMappingNode entry)
        {
            var values = ReadSettings(entry, new Dictionary<string, object?>(StringComparer.Ordinal), Schema.DatasetKeys);
            if (values.GetValueOrDefault("kind") is not DatasetKind kind)
            {
                Error(entry, ErrorCodes.DatasetWithoutKind, $"dataset '{name}' needs a 'kind' ({string.Join(", ", Schema.FindDatasetKey("kind")!.Choices!)})");
                return null;
            }
            if (values.GetValueOrDefault("root") is not string root)
            {
                Error(entry, ErrorCodes.DatasetWithoutRoot, $"dataset '{name}' needs a 'root' folder");
                return null;
            }
            bool download = values.GetValueOrDefault("download") as bool? ?? false;
            if (!download && !Directory.Exists(root))
                Error(ExperimentEntry.ValueOf(entry, "root"), ErrorCodes.DatasetFolderNotFound, $"dataset '{name}': folder not found: {root} (set 'download: true' to fetch it)");
            var classes = values.GetValueOrDefault("classes") is long[] kept ? kept.Select(c => checked((int)c)).ToArray() : null;
            return new DatasetSpec(name, kind, root, download, values.GetValueOrDefault("skip_corrupt") as bool? ?? false, (int)entry.Start.Line, classes);
        }

        /// <summary>Reads every key of <paramref name="map"/> that <paramref name="keys"/> declares into <paramref name="values"/>; reports the others.</summary>
        private Dictionary<string, object?> ReadSettings(YamlMappingNode map, Dictionary<string, object?> values, IReadOnlyList<SettingSpec> keys)
        {
            foreach (var (keyNode, value) in map.Children)
            {
                if (KeyOf(keyNode) is not { } key)
                    continue;
                if (keys.FirstOrDefault(s => s.Key == key) is { } spec)
                    values[key] = reader.Read(spec, value);
                else
                    Unknown(keyNode, key, keys.Select(s => s.Key));
            }
            return values;
        }

        private YamlMappingNode? AsMapping(YamlNode node, string what)
        {
            if (node is YamlMappingNode map)
                return map;
            Error(node, ErrorCodes.NotMapping, $"{what} must be a mapping of 'key: value' lines");
            return null;
        }

        /// <summary>A mapping key as text; a list or mapping used as a key is an error rather than a crash.</summary>
        private string? KeyOf(YamlNode node)
        {
            if (node is YamlScalarNode { Value: { } key })
                return key;
            Error(node, ErrorCodes.KeyNotPlainWord, "a key must be a plain word, not a list or mapping");
            return null;
        }

        private void Unknown(YamlNode node, string key, IEnumerable<string> known) =>
            Error(node, ErrorCodes.UnknownKey, $"unknown key '{key}'" + SettingReader.Hint(Schema.Suggest(key, known)));

        private void Error(YamlNode? node, string code, string message) =>
            errors.Add(new ConfigError(path, node is null ? 1 : (int)node.Start.Line, node is null ? 1 : (int)node.Start.Column, code, message));
    }
}
