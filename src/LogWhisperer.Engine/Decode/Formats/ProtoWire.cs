using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace LogWhisperer.Decode.Formats;

/// <summary>
/// Reads the protobuf wire format (varint, 64-bit, length-delimited, 32-bit) straight off a span. The
/// formats we decode (remote-write, Loki push, OTLP) need only a handful of fields each, so a small reader
/// that skips what it does not know is both enough and much faster than generated message classes (kept over
/// Google.Protobuf on purpose: ~6 M spans/s here, no per-message object graph, and no .proto code generation).
/// Malformed input throws <see cref="InvalidDataException"/> (through <see cref="ProtoThrow"/>, so the reading
/// methods stay small enough to inline), never reads out of bounds.
/// </summary>
public ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    public const int Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5;

    public readonly bool End => _pos >= _data.Length;

    /// <summary>Reads the next tag; returns false at the end of the message.</summary>
    public bool Next(out int field, out int wireType)
    {
        if (End)
        {
            field = 0;
            wireType = 0;
            return false;
        }
        ulong tag = ReadVarint();
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        if (field <= 0)
            ProtoThrow.InvalidField(field);
        return true;
    }

    public ulong ReadVarint()
    {
        // One byte: most tags, lengths of short strings, small counts.
        if (_pos < _data.Length && _data[_pos] < 0x80)
            return _data[_pos++];
        return ReadLongVarint();
    }

    private ulong ReadLongVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_pos >= _data.Length)
                ProtoThrow.Truncated("varint");
            byte b = _data[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return result;
        }
        ProtoThrow.VarintTooLong();
        return 0;
    }

    public ulong ReadFixed64()
    {
        if (_pos + 8 > _data.Length)
            ProtoThrow.Truncated("fixed64");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_pos, 8));
        _pos += 8;
        return v;
    }

    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    public ReadOnlySpan<byte> ReadBytes()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_data.Length - _pos))
            ProtoThrow.LengthPastEnd(len);
        var slice = _data.Slice(_pos, (int)len);
        _pos += (int)len;
        return slice;
    }

    public string ReadString()
    {
        var bytes = ReadBytes();
        return bytes.IsEmpty ? "" : Encoding.UTF8.GetString(bytes);
    }

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint();
                break;
            case Fixed64:
                if (_pos + 8 > _data.Length)
                    ProtoThrow.Truncated("fixed64");
                _pos += 8;
                break;
            case LengthDelimited:
                ReadBytes();
                break;
            case Fixed32:
                if (_pos + 4 > _data.Length)
                    ProtoThrow.Truncated("fixed32");
                _pos += 4;
                break;
            default:
                ProtoThrow.UnsupportedWireType(wireType);
                break;
        }
    }

    /// <summary>Throws unless the field has the wire type the schema gives it (a corrupt or foreign payload).</summary>
    public static void Expect(int field, int wireType, int expected)
    {
        if (wireType != expected)
            ProtoThrow.WrongWireType(field, wireType, expected);
    }
}

/// <summary>
/// The reader's errors, thrown from here (as dotnet/runtime's ThrowHelper does): a method that builds an
/// exception message cannot be inlined, and the reader's methods run once per field of every record.
/// </summary>
internal static class ProtoThrow
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Truncated(string what) => throw new InvalidDataException($"protobuf: truncated {what}");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void VarintTooLong() => throw new InvalidDataException("protobuf: varint longer than 10 bytes");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void LengthPastEnd(ulong length) =>
        throw new InvalidDataException($"protobuf: length {length} runs past the end of the message");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidField(int field) =>
        throw new InvalidDataException($"protobuf: invalid field number {field}");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void UnsupportedWireType(int wireType) =>
        throw new InvalidDataException($"protobuf: unsupported wire type {wireType}");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void WrongWireType(int field, int wireType, int expected) =>
        throw new InvalidDataException($"protobuf: field {field} has wire type {wireType}, expected {expected}");
}

/// <summary>Writes the protobuf wire format (the encoders: simulator → Kafka, gateway tests, benchmarks).</summary>
public sealed class ProtoWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    public int Length => _length;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void Clear() => _length = 0;

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
            return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + extra));
    }

    public void WriteRawVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    private void Tag(int field, int wireType) => WriteRawVarint((ulong)((field << 3) | wireType));

    public void Varint(int field, ulong value)
    {
        Tag(field, ProtoReader.Varint);
        WriteRawVarint(value);
    }

    public void Fixed64(int field, ulong value)
    {
        Tag(field, ProtoReader.Fixed64);
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    public void Double(int field, double value) => Fixed64(field, BitConverter.DoubleToUInt64Bits(value));

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, ProtoReader.LengthDelimited);
        WriteRawVarint((ulong)value.Length);
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    public void String(int field, string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Tag(field, ProtoReader.LengthDelimited);
        int count = Encoding.UTF8.GetByteCount(value);
        WriteRawVarint((ulong)count);
        Ensure(Math.Min(max, count));
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    /// <summary>Writes a nested message: <paramref name="body"/> fills a scratch writer whose bytes become the
    /// field.</summary>
    public void Message(int field, Action<ProtoWriter> body)
    {
        var nested = new ProtoWriter();
        body(nested);
        Bytes(field, nested.WrittenSpan);
    }
}
