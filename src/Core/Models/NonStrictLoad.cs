namespace Repro.Core.Models;

/// <summary>
/// What a non-strict load (<see cref="Checkpoint.LoadNonStrict"/>, PyTorch's <c>load_state_dict(strict=False)</c>)
/// skipped: the model entries the file lacks kept their initial values, the file entries the model lacks were unused.
/// </summary>
/// <param name="Loaded">Model entries copied from the file.</param>
/// <param name="Missing">Model entries not in the file, in PyTorch's state_dict order: left at their initial values.</param>
/// <param name="Unexpected">File entries the model has no place for, in ordinal order: ignored.</param>
public sealed record NonStrictLoad(int Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected)
{
    /// <summary>Model entries in the load's scope (loaded plus missing).</summary>
    public int Total => Loaded + Missing.Count;

    /// <summary>One line for report.md, e.g. "non-strict load: 120 of 727 model entries loaded, 607 skipped (kept their initial values: features.denseblock1.denselayer1.norm1.weight, …); 607 checkpoint entries unused".</summary>
    public string Describe()
    {
        static string First(IReadOnlyList<string> names) =>
            names.Count == 0 ? "" : $" ({string.Join(", ", names.Take(3))}{(names.Count > 3 ? ", …" : "")})";
        return $"non-strict load: {Loaded} of {Total} model entries loaded, {Missing.Count} skipped and left at their initial values{First(Missing)}; "
            + $"{Unexpected.Count} checkpoint entries unused{First(Unexpected)}";
    }
}
