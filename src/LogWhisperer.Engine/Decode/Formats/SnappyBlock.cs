using System.Buffers;
using Snappier;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Snappy block format (not the framed stream format), as Prometheus remote-write and Loki's protobuf push
/// use it. Decompression is bounded: the declared length is checked before any memory is taken.
/// </summary>
public static class SnappyBlock
{
    public const int MaxUncompressedBytes = 64 << 20;

    /// <summary>Decompresses into a pooled buffer; dispose the result.</summary>
    public static IMemoryOwner<byte> Decompress(ReadOnlySpan<byte> compressed)
    {
        int length;
        try
        {
            length = Snappy.GetUncompressedLength(compressed);
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"snappy: not a snappy block ({e.Message})");
        }
        if (length < 0 || length > MaxUncompressedBytes)
            throw new InvalidDataException($"snappy: declared length {length} exceeds {MaxUncompressedBytes} bytes");
        try
        {
            return Snappy.DecompressToMemory(compressed);
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"snappy: corrupt block ({e.Message})");
        }
    }

    /// <summary>The uncompressed length a block declares in its header, or -1 when it has no valid header.</summary>
    public static long DeclaredLength(ReadOnlySpan<byte> compressed)
    {
        try
        {
            return Snappy.GetUncompressedLength(compressed);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> data) => Snappy.CompressToArray(data);
}
