using System.Text.Json;

namespace Repro.Config;

/// <summary>
/// The numerics platform a result was computed on, as metrics.json's <c>platform</c> object records it (written by
/// the host from CPUID, LibTorch and the device): a short <see cref="Id"/> and the fields it hashes, each kept as its
/// raw JSON so the lock file repeats metrics.json exactly. Results are byte-identical only on the same platform id.
/// </summary>
public sealed record NumericsPlatformRecord(string Id, IReadOnlyList<KeyValuePair<string, string>> RawFields)
{
    /// <summary>A result written before platforms were recorded: never equal to a real platform.</summary>
    public static NumericsPlatformRecord Unrecorded { get; } = new("unrecorded", []);

    /// <summary>Reads a <c>platform</c> object: <c>id</c>, then every other member in file order.</summary>
    public static NumericsPlatformRecord FromJson(JsonElement element)
    {
        string id = element.TryGetProperty("id", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
        var fields = element.EnumerateObject()
            .Where(p => p.Name != "id")
            .Select(p => KeyValuePair.Create(p.Name, p.Value.GetRawText()))
            .ToList();
        return new NumericsPlatformRecord(id.Length > 0 ? id : Unrecorded.Id, fields);
    }

    /// <summary>A field as display text (strings unquoted); null when absent.</summary>
    public string? Text(string key)
    {
        foreach (var (k, raw) in RawFields)
            if (k == key)
                return raw.StartsWith('"') ? JsonSerializer.Deserialize<string>(raw) : raw;
        return null;
    }

    /// <summary>The device the result was computed on ("cpu" or "cuda"; "cpu" for records without one).</summary>
    public string Device => Text("device") is { Length: > 0 } device ? device : "cpu";

    /// <summary>Whether the result came from a GPU, whose kernels repeat within tolerances rather than bit for bit.</summary>
    public bool IsCuda => Device == "cuda";

    /// <summary>One line for logs: the id and, when recorded, the CPU brand and ISA people compare first.</summary>
    public string Describe()
    {
        var shown = new[] { "cpu_brand", "aten_isa", "onednn_isa", "cache_l2", "threads", "gpu_name" }
            .Select(k => Text(k) is { Length: > 0 } t ? $"{k.Replace('_', ' ')} {t}" : null)
            .OfType<string>()
            .ToList();
        return shown.Count == 0 ? Id : $"{Id} ({string.Join(", ", shown)})";
    }

    /// <summary>Writes the object back as metrics.json had it.</summary>
    public void Write(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("id", Id);
        foreach (var (key, raw) in RawFields)
        {
            json.WritePropertyName(key);
            json.WriteRawValue(raw, skipInputValidation: true);
        }
        json.WriteEndObject();
    }
}
