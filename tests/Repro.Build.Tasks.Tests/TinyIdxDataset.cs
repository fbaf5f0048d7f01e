using System.Buffers.Binary;

namespace Repro.Build.Tasks.Tests;

/// <summary>Writes a few dozen 28x28 IDX images (MNIST's format) so that every experiment stage takes seconds.</summary>
internal static class TinyIdxDataset
{
    public static void Write(string folder, int trainImages = 32, int testImages = 16)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(7);
        WritePair(folder, "train", trainImages, random);
        WritePair(folder, "t10k", testImages, random);
    }

    private static void WritePair(string folder, string set, int count, Random random)
    {
        const int side = 28;
        var images = new byte[16 + count * side * side];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x0000_0803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), side);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), side);
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x0000_0801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 10;
            labels[8 + i] = (byte)label;
            // A bright band whose row depends on the label, plus noise: learnable, but not trivially.
            for (int p = 0; p < side * side; p++)
                images[16 + i * side * side + p] = (byte)(p / side / 3 == label ? 200 + random.Next(50) : random.Next(60));
        }
        File.WriteAllBytes(Path.Combine(folder, $"{set}-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(folder, $"{set}-labels-idx1-ubyte"), labels);
    }
}
