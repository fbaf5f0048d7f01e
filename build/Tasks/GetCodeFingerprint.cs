using Microsoft.Build.Framework;

namespace Repro.Build.Tasks;

/// <summary>
/// Fingerprints the source code that computes results (<see cref="CodeFingerprint"/>: what the compilers read, without
/// comments or layout), which the lock file records beside each result.
/// </summary>
public sealed class GetCodeFingerprint : Microsoft.Build.Utilities.Task
{
    /// <summary>The repository root that <see cref="Paths"/> are relative to.</summary>
    [Required]
    public string Root { get; set; } = "";

    /// <summary>Folders and files to hash, relative to <see cref="Root"/>, e.g. src;Directory.Packages.props.</summary>
    [Required]
    public string[] Paths { get; set; } = [];

    /// <summary>16 hex digits of SHA-256 over the compiled files' relative paths and normalised contents.</summary>
    [Output]
    public string Fingerprint { get; private set; } = "";

    public override bool Execute()
    {
        Fingerprint = CodeFingerprint.Compute(Root, Paths);
        Log.LogMessage(MessageImportance.Low, $"Repro: code fingerprint {Fingerprint}");
        return !Log.HasLoggedErrors;
    }
}
