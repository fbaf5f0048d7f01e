using System.Text.RegularExpressions;

namespace Repro.Config.Tests;

public sealed class SchemaTests
{
    /// <summary>The keys docs/reference.md's generated table <paramref name="part"/> documents.</summary>
    private static HashSet<string> ReferenceKeys(string part) =>
        new(ReferenceDocsTests.CommittedPart(part).Split('\n')
            .Select(line => Regex.Match(line, @"^\| `(?<key>[a-z0-9_]+)` \|"))
            .Where(m => m.Success)
            .Select(m => m.Groups["key"].Value), StringComparer.Ordinal);

    [Fact]
    public void ExperimentKeys_Reference_DocumentsExactlyEveryKey() =>
        Assert.Equal(Schema.ExperimentKeys.Select(k => k.Key).Order(), ReferenceKeys("experiment-keys").Order());

    [Fact]
    public void DatasetKeys_Reference_DocumentsExactlyEveryKey() =>
        Assert.Equal(Schema.DatasetKeys.Select(k => k.Key).Order(), ReferenceKeys("dataset-keys").Order());

    // The enums are the one list of allowed values; the reference table must name exactly those.
    [Fact]
    public void ChoiceKeys_Reference_ListsEveryAllowedValue()
    {
        foreach (var (part, keys) in new[] { ("experiment-keys", Schema.ExperimentKeys), ("dataset-keys", Schema.DatasetKeys) })
            foreach (var key in keys.Where(k => k.Kind == SettingKind.Choice))
            {
                string row = ReferenceDocsTests.CommittedPart(part).Split('\n').First(l => l.StartsWith($"| `{key.Key}` |", StringComparison.Ordinal));
                Assert.All(key.Choices!, name => Assert.Matches($@"\b{Regex.Escape(name)}\b", row));
            }
    }

    // Every key reads back from the typed spec what the validator stored: the typed spec and the schema cannot drift.
    [Fact]
    public void ExperimentKeys_EveryKey_ReadsBackThroughTheTypedSpec()
    {
        string dir = Directory.CreateTempSubdirectory("repro-schema-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "data"));
            string yaml = """
                datasets:
                  d: {kind: oxford-pet, root: data}
                experiments:
                  - {name: e, dataset: d, split: 0.2, seed: 9, seeds: [3, 4], model: densenet121, head: seed, freeze: backbone,
                     cache_features: true, crop: 64, augment: true, normalize: half, batch: 7, test_batch: 9, epochs: 3,
                     optimizer: sgd, lr: 0.5, momentum: 0.7, nesterov: true, weight_decay: 0.01, schedule: step, step_epochs: 2,
                     step_gamma: 0.5, warmup_epochs: 1, label_smoothing: 0.1, clip_grad_norm: 5, device: cpu, threads: 3,
                     loader_threads: 4, tf32: false, bf16: true, frozen_bn_train: true, test_augment: true, channels_last: false,
                     numerics: portable, tensorboard: false, tags: [a, b], description: words, tutorial: '', slurm_partition: p, slurm_cpus: 8,
                     slurm_mem: 8G, slurm_time: '1:00:00', slurm_gpus: 1}
                """;
            var file = ExperimentsFile.Parse(new StringReader(yaml), Path.Combine(dir, "experiments.yaml"));
            Assert.Empty(file.Errors);
            var spec = Assert.Single(file.Experiments);
            var expected = new Dictionary<string, object?>
            {
                ["name"] = "e", ["dataset"] = "d", ["split"] = 0.2, ["seed"] = 9L, ["seeds"] = new long[] { 3, 4 }, ["model"] = ModelKind.DenseNet121,
                ["pretrained"] = null, ["head"] = HeadKind.Seed, ["freeze"] = FreezeMode.Backbone, ["cache_features"] = true, ["crop"] = 64L,
                ["augment"] = true, ["normalize"] = NormalizationKind.Half, ["batch"] = 7L, ["test_batch"] = 9L, ["epochs"] = 3L,
                ["optimizer"] = OptimizerKind.Sgd, ["lr"] = 0.5, ["momentum"] = 0.7, ["nesterov"] = true, ["weight_decay"] = 0.01,
                ["schedule"] = ScheduleKind.Step, ["step_epochs"] = 2L, ["step_gamma"] = 0.5, ["warmup_epochs"] = 1L, ["label_smoothing"] = 0.1,
                ["clip_grad_norm"] = 5.0, ["device"] = DeviceChoice.Cpu, ["threads"] = 3L, ["loader_threads"] = 4L, ["tf32"] = false,
                ["bf16"] = true, ["frozen_bn_train"] = true, ["test_augment"] = true, ["load_nonstrict"] = false, ["channels_last"] = false,
                ["numerics"] = NumericsMode.Portable, ["tensorboard"] = false, ["tags"] = new[] { "a", "b" }, ["description"] = "words", ["tutorial"] = "",
                ["slurm_partition"] = "p", ["slurm_cpus"] = 8L, ["slurm_mem"] = "8G", ["slurm_time"] = "1:00:00", ["slurm_gpus"] = 1L,
            };
            Assert.Equal(Schema.ExperimentKeys.Select(k => k.Key).Order(), expected.Keys.Order());
            foreach (var key in Schema.ExperimentKeys)
                Assert.Equivalent(expected[key.Key], key.Read(spec), strict: true);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("epoch", "epochs")]
    [InlineData("test_bach", "test_batch")]
    [InlineData("zzzzzzzz", null)]
    public void Suggest_Typo_ReturnsClosestKeyOrNull(string typo, string? expected) =>
        Assert.Equal(expected, Schema.Suggest(typo, Schema.ExperimentKeys.Select(k => k.Key)));
}
