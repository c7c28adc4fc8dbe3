using System.Text;

namespace LogWhisperer.Decode.Fuzzing;

/// <summary>
/// Turns a valid payload into a hostile one: bit flips, truncation, random bytes, spliced or repeated chunks,
/// and tokens known to break parsers (10-byte and overlong varints, giant lengths, NaN/Infinity, 1e999,
/// lone surrogates, invalid UTF-8, deep nesting). Deterministic for a given <see cref="Random"/>.
/// </summary>
internal static class FuzzMutator
{
    private static readonly byte[][] BinaryTokens =
    [
        [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], // max 10-byte varint
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], // varint that never ends
        [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], // field 1, length 4 GiB
        [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07], // field 1, length int.MaxValue
        [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // field 2, length 2^63
        [0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x7F], // fixed64 NaN
        [0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF0, 0x7F], // fixed64 +Inf
        [0xC3, 0x28],
        [0xFF, 0xFE],
        [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], // invalid UTF-8
        [0x00],
        [0x07],
        [0x0F],
        [0xF8, 0xFF, 0xFF, 0xFF, 0x0F], // wire types 7, field 0, huge field
    ];

    private static readonly string[] TextTokens =
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        "-1e999",
        "1e308",
        "4.9e-324",
        "99999999999999999999999999",
        "-9223372036854775809",
        "\"\\ud800\"",
        "\"\\udfff\\ud800\"",
        "\"\\u0000\"",
        "null",
        "true",
        "{}",
        "[]",
        "\"\"",
        "0",
        "-0",
        "1.5",
        "\"x\"",
        "\"1767225600123000000\"",
        "\"-1\"",
        "\"18446744073709551616\"",
        "{\"a\":",
        "\"stringValue\"",
        "\"intValue\":1e400",
    ];

    public static byte[] Mutate(byte[] seed, Random rng)
    {
        var data = seed;
        int rounds = 1 + (rng.Next(4) == 0 ? rng.Next(3) : 0);
        for (int i = 0; i < rounds; i++)
            data = MutateOnce(data, rng);
        return data;
    }

    private static byte[] MutateOnce(byte[] data, Random rng)
    {
        switch (rng.Next(10))
        {
            case 0: // bit flips
            {
                if (data.Length == 0)
                    return RandomBytes(rng);
                var copy = (byte[])data.Clone();
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++)
                    copy[rng.Next(copy.Length)] ^= (byte)(1 << rng.Next(8));
                return copy;
            }
            case 1: // truncation
                return data.Length == 0 ? data : data[..rng.Next(data.Length)];
            case 2:
                return RandomBytes(rng);
            case 3: // insert random bytes
                return Insert(data, rng.Next(data.Length + 1), RandomBytes(rng, 16));
            case 4: // delete a chunk
            {
                if (data.Length < 2)
                    return data;
                int at = rng.Next(data.Length),
                    len = 1 + rng.Next(Math.Min(64, data.Length - at));
                return [.. data.AsSpan(0, at), .. data.AsSpan(at + len)];
            }
            case 5: // repeat a chunk (duplicate fields, repeated records)
            {
                if (data.Length == 0)
                    return data;
                int at = rng.Next(data.Length),
                    len = 1 + rng.Next(Math.Min(256, data.Length - at));
                var chunk = data.AsSpan(at, len).ToArray();
                var result = data;
                for (int copies = 1 + rng.Next(4); copies > 0; copies--)
                    result = Insert(result, rng.Next(result.Length + 1), chunk);
                return result;
            }
            case 6:
                return Insert(data, rng.Next(data.Length + 1), BinaryTokens[rng.Next(BinaryTokens.Length)]);
            case 7: // a parser-breaking text token in place of a value
            {
                var token = Encoding.UTF8.GetBytes(TextTokens[rng.Next(TextTokens.Length)]);
                int at = rng.Next(data.Length + 1),
                    len = Math.Min(data.Length - at, rng.Next(12));
                return [.. data.AsSpan(0, at), .. token, .. data.AsSpan(at + len)];
            }
            case 8: // deep nesting
            {
                int depth = 1 + rng.Next(2000);
                var open =
                    rng.Next(2) == 0 ? new string('[', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth));
                return Insert(data, rng.Next(data.Length + 1), Encoding.UTF8.GetBytes(open));
            }
            default: // interesting bytes in place
            {
                if (data.Length == 0)
                    return data;
                var copy = (byte[])data.Clone();
                copy[rng.Next(copy.Length)] = (byte)(
                    rng.Next(4) switch
                    {
                        0 => 0x00,
                        1 => 0xFF,
                        2 => 0x7F,
                        _ => 0x80,
                    }
                );
                return copy;
            }
        }
    }

    private static byte[] RandomBytes(Random rng, int max = 512)
    {
        var bytes = new byte[rng.Next(max + 1)];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Insert(byte[] data, int at, ReadOnlySpan<byte> insert) =>
        [.. data.AsSpan(0, at), .. insert, .. data.AsSpan(at)];
}
