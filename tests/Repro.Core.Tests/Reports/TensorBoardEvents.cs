using System.Buffers.Binary;
using System.Text;

namespace Repro.Core.Tests.Reports;

/// <summary>One summary value of an event file: its tag, step, and what it holds.</summary>
internal sealed record TensorBoardValue(string Tag, long Step, float? Scalar, bool IsImage, bool IsTensor);

/// <summary>
/// A minimal reader of TensorBoard event files, written from the format rather than with the writer's code, so that
/// a test checks what TensorBoard would read: TFRecord framing (uint64 length, uint32 masked CRC of the length, the
/// data, uint32 masked CRC of the data; CRC-32C), each record an <c>Event</c> protobuf (wall_time = 1, step = 2,
/// summary = 5), whose <c>Summary</c> holds repeated <c>Value</c>s (tag = 1, simple_value = 2, image = 4, tensor = 8).
/// </summary>
internal static class TensorBoardEvents
{
    public static List<TensorBoardValue> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var values = new List<TensorBoardValue>();
        int at = 0;
        while (at < bytes.Length)
        {
            Assert.True(at + 12 <= bytes.Length, $"{path}: truncated record header at {at}");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            uint lengthCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8));
            Assert.Equal(Masked(Crc32C(bytes.AsSpan(at, 8))), lengthCrc);
            int start = at + 12;
            Assert.True(start + (int)length + 4 <= bytes.Length, $"{path}: truncated record at {at}");
            var data = bytes.AsSpan(start, (int)length);
            Assert.Equal(Masked(Crc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(start + (int)length)));
            ReadEvent(data, values);
            at = start + (int)length + 4;
        }
        return values;
    }

    private static void ReadEvent(ReadOnlySpan<byte> data, List<TensorBoardValue> values)
    {
        long step = 0;
        var summaries = new List<byte[]>();
        foreach (var (field, wire, number, payload) in Fields(data))
        {
            if (field == 2 && wire == 0)
                step = (long)number;
            else if (field == 5 && wire == 2)
                summaries.Add(payload);
        }
        foreach (var summary in summaries)
            foreach (var (field, wire, _, value) in Fields(summary))
                if (field == 1 && wire == 2)
                    values.Add(ReadValue(value, step));
    }

    private static TensorBoardValue ReadValue(ReadOnlySpan<byte> data, long step)
    {
        string tag = "";
        float? scalar = null;
        bool image = false, tensor = false;
        foreach (var (field, wire, number, payload) in Fields(data))
        {
            switch (field, wire)
            {
                case (1, 2): tag = Encoding.UTF8.GetString(payload); break;
                case (2, 5): scalar = BitConverter.Int32BitsToSingle((int)number); break;
                case (4, 2): image = true; break;
                case (8, 2): tensor = true; break;
            }
        }
        return new TensorBoardValue(tag, step, scalar, image, tensor);
    }

    /// <summary>The fields of a protobuf message: number, wire type, the varint or fixed value, or the bytes of a length-delimited one.</summary>
    private static List<(int Field, int Wire, ulong Number, byte[] Payload)> Fields(ReadOnlySpan<byte> data)
    {
        var fields = new List<(int, int, ulong, byte[])>();
        int at = 0;
        while (at < data.Length)
        {
            ulong key = Varint(data, ref at);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: fields.Add((field, wire, Varint(data, ref at), [])); break;
                case 1: fields.Add((field, wire, BinaryPrimitives.ReadUInt64LittleEndian(data[at..]), [])); at += 8; break;
                case 2:
                    int n = (int)Varint(data, ref at);
                    fields.Add((field, wire, 0, data.Slice(at, n).ToArray()));
                    at += n;
                    break;
                case 5: fields.Add((field, wire, BinaryPrimitives.ReadUInt32LittleEndian(data[at..]), [])); at += 4; break;
                default: throw new InvalidDataException($"protobuf wire type {wire} at {at}");
            }
        }
        return fields;
    }

    private static ulong Varint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
    }

    private static uint Masked(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xA282EAD8);

    private static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }
}
