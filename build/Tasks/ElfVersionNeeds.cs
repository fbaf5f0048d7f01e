using System.Buffers.Binary;
using System.Text;

namespace Repro.Build.Tasks;

/// <summary>
/// Reads and edits the version needs (<c>.gnu.version_r</c>) of a little-endian ELF64 shared object.
/// </summary>
/// <remarks>
/// Layouts follow the System V gABI and the LSB "Symbol Versioning" chapter: Elf64_Verneed is
/// {vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32}; Elf64_Vernaux is
/// {vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32}.
/// </remarks>
internal static class ElfVersionNeeds
{
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary>The <c>VER_FLG_WEAK</c> bit: the loader accepts a library that lacks this version.</summary>
    public const ushort VerFlagWeak = 0x2;

    public sealed record VersionNeed(string Library, string Version, ushort Flags, long FlagsOffset);

    public static IReadOnlyList<VersionNeed> Read(byte[] elf, string fileForErrors)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException($"{fileForErrors}: not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException($"{fileForErrors}: only little-endian ELF64 is supported.");

        var span = elf.AsSpan();
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3C..]);

        var needs = new List<VersionNeed>();
        for (int i = 0; i < shnum; i++)
        {
            var sh = span[(int)(shoff + (long)i * shentsize)..];
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]);
            if (type != ShtGnuVerneed)
                continue;
            long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
            uint link = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x28..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x2C..]); // sh_info: number of Verneed entries
            var strtab = span[(int)(shoff + (long)link * shentsize)..];
            long stroff = (long)BinaryPrimitives.ReadUInt64LittleEndian(strtab[0x18..]);

            long vn = offset;
            for (uint n = 0; n < count; n++)
            {
                ushort cnt = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(vn + 2)..]);
                uint file = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 4)..]);
                uint aux = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 8)..]);
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(vn + 12)..]);
                string library = ReadString(span, stroff + file);
                long va = vn + aux;
                for (int a = 0; a < cnt; a++)
                {
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(span[(int)(va + 4)..]);
                    uint name = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(va + 8)..]);
                    uint vnaNext = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(va + 12)..]);
                    needs.Add(new VersionNeed(library, ReadString(span, stroff + name), flags, va + 4));
                    if (vnaNext == 0) break;
                    va += vnaNext;
                }
                if (next == 0) break;
                vn += next;
            }
        }
        return needs;
    }

    /// <summary>Sets <see cref="VerFlagWeak"/> on every need of <paramref name="version"/>; returns how many changed.</summary>
    public static int MarkWeak(byte[] elf, string version, string fileForErrors)
    {
        int changed = 0;
        foreach (var need in Read(elf, fileForErrors))
        {
            if (need.Version != version || (need.Flags & VerFlagWeak) != 0)
                continue;
            BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)need.FlagsOffset), (ushort)(need.Flags | VerFlagWeak));
            changed++;
        }
        return changed;
    }

    private static string ReadString(ReadOnlySpan<byte> span, long offset)
    {
        var tail = span[(int)offset..];
        int end = tail.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? tail : tail[..end]);
    }
}
