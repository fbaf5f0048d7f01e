using Repro.Core.Tests.Engine;

namespace Repro.Core.Tests;

/// <summary>The tiny experiment run once, uninterrupted: the reference the reproducibility tests compare with.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TinyExperiment tiny = new();

    public TinyRunFixture()
    {
        Runner = tiny.RunAll();
    }

    internal TinyExperiment Tiny => tiny;

    public ExperimentRunner Runner { get; }

    public void Dispose() => tiny.Dispose();
}

/// <summary>Gives the training tests one shared uninterrupted run.</summary>
[CollectionDefinition(LibTorchCollection.Name + " (tiny run)", DisableParallelization = true)]
public sealed class TinyRunCollection : ICollectionFixture<TinyRunFixture>
{
    public const string Name = LibTorchCollection.Name + " (tiny run)";
}
