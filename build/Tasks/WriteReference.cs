using Microsoft.Build.Framework;
using Repro.Config;
using Repro.Config.IO;

namespace Repro.Build.Tasks;

/// <summary>
/// Renders docs/reference.md's generated tables (experiments.yaml's keys, the error codes) from the code into the file
/// (<see cref="ReferenceDocs"/>), atomically and only when they changed; the hand-written text around them stays.
/// </summary>
public sealed class WriteReference : Microsoft.Build.Utilities.Task
{
    /// <summary>The reference document to update, e.g. docs/reference.md.</summary>
    [Required]
    public string File { get; set; } = "";

    public override bool Execute()
    {
        if (!System.IO.File.Exists(File))
        {
            Log.LogError("Repro", ErrorCodes.ReferenceNotRenderable, null, File, 0, 0, 0, 0, "reference document not found: it holds the hand-written text around the generated tables");
            return false;
        }
        try
        {
            bool written = AtomicFile.WriteIfChanged(File, ReferenceDocs.Render(System.IO.File.ReadAllText(File)));
            Log.LogMessage(MessageImportance.High, written ? $"Repro: updated {File}" : $"Repro: {File} is up to date");
        }
        catch (InvalidDataException e)
        {
            Log.LogError("Repro", ErrorCodes.ReferenceNotRenderable, null, File, 0, 0, 0, 0, e.Message);
        }
        return !Log.HasLoggedErrors;
    }
}
