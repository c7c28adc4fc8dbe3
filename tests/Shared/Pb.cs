using Google.Protobuf;

namespace LogWhisperer.Tests;

/// <summary>An independent protobuf writer (Google.Protobuf's own), for golden payloads: decoder tests do not trust our
/// encoder.</summary>
internal sealed class Pb
{
    private readonly MemoryStream _stream = new();
    private readonly CodedOutputStream _out;

    public Pb()
    {
        _out = new CodedOutputStream(_stream, leaveOpen: true);
    }

    public Pb Str(int f, string v)
    {
        _out.WriteTag(f, WireFormat.WireType.LengthDelimited);
        _out.WriteString(v);
        return this;
    }

    public Pb Bytes(int f, byte[] v)
    {
        _out.WriteTag(f, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(ByteString.CopyFrom(v));
        return this;
    }

    public Pb Msg(int f, Pb m) => Bytes(f, m.ToArray());

    public Pb Int(int f, long v)
    {
        _out.WriteTag(f, WireFormat.WireType.Varint);
        _out.WriteInt64(v);
        return this;
    }

    public Pb Dbl(int f, double v)
    {
        _out.WriteTag(f, WireFormat.WireType.Fixed64);
        _out.WriteDouble(v);
        return this;
    }

    public Pb Fx64(int f, ulong v)
    {
        _out.WriteTag(f, WireFormat.WireType.Fixed64);
        _out.WriteFixed64(v);
        return this;
    }

    public byte[] ToArray()
    {
        _out.Flush();
        return _stream.ToArray();
    }
}
