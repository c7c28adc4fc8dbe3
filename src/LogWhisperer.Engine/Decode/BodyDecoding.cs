using System.IO.Compression;

namespace LogWhisperer.Decode;

/// <summary>
/// Undoes an HTTP body's Content-Encoding (gzip, deflate, snappy block) with a hard cap on the decompressed
/// size: a small body that inflates to gigabytes (a zip bomb) is refused as soon as the cap is passed,
/// without ever holding more than the cap in memory. Every refusal is an <see cref="InvalidDataException"/>.
/// </summary>
public static class BodyDecoding
{
    public static byte[] Decode(byte[] body, string? contentEncoding, long maxDecodedBytes)
    {
        var encoding = contentEncoding?.Trim().ToLowerInvariant();
        switch (encoding)
        {
            case null or "" or "identity":
                return body;
            case "gzip":
                return Inflate(
                    new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
                    maxDecodedBytes,
                    encoding
                );
            case "deflate":
                return Inflate(
                    new ZLibStream(new MemoryStream(body), CompressionMode.Decompress),
                    maxDecodedBytes,
                    encoding
                );
            case "snappy":
                int declared;
                try
                {
                    declared = Snappier.Snappy.GetUncompressedLength(body);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
                {
                    throw new InvalidDataException($"content-encoding snappy: not a snappy block ({e.Message})");
                }
                if (declared < 0 || declared > maxDecodedBytes)
                    throw TooLarge(
                        $"content-encoding snappy: decodes to {declared} bytes, more than the {maxDecodedBytes} allowed"
                    );
                try
                {
                    return Snappier.Snappy.DecompressToArray(body);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
                {
                    throw new InvalidDataException($"content-encoding snappy: corrupt block ({e.Message})");
                }
            default:
                throw new InvalidDataException(
                    $"unsupported content-encoding '{contentEncoding}' (gzip, deflate, snappy or identity)"
                );
        }
    }

    /// <summary>
    /// The streaming form, for HTTP bodies: <paramref name="body"/> (as received, in pooled chunks) is inflated
    /// chunk by chunk into pooled chunks, never past the cap, and the result is copied out once at its exact size.
    /// A bomb costs at most the cap in memory, all of it given back to the pool when it is refused.
    /// </summary>
    public static byte[] Decode(PooledChunks body, string? contentEncoding, long maxDecodedBytes)
    {
        var encoding = contentEncoding?.Trim().ToLowerInvariant();
        Stream? inflating = encoding switch
        {
            "gzip" => new GZipStream(body.AsStream(), CompressionMode.Decompress),
            "deflate" => new ZLibStream(body.AsStream(), CompressionMode.Decompress),
            _ => null,
        };
        if (inflating is null)
            // identity, snappy (declares its size), unknown
            return Decode(body.ToArray(), contentEncoding, maxDecodedBytes);
        using (inflating)
        using (var output = new PooledChunks(maxDecodedBytes))
        {
            try
            {
                output.ReadFrom(inflating);
            }
            catch (PooledChunks.CapExceededException)
            {
                throw TooLarge(
                    $"content-encoding {encoding}: decodes to more than the {maxDecodedBytes} bytes allowed"
                );
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"content-encoding {encoding}: corrupt body ({e.Message})");
            }
            return output.ToArray();
        }
    }

    /// <summary>True when the body was refused for inflating past its cap (HTTP 413), not for being corrupt
    /// (400).</summary>
    public static bool IsTooLarge(InvalidDataException e) => e.Data.Contains(TooLargeKey);

    private const string TooLargeKey = "logwhisperer.too-large";

    private static InvalidDataException TooLarge(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[TooLargeKey] = true;
        return e;
    }

    private static byte[] Inflate(Stream stream, long max, string encoding)
    {
        using (stream)
        using (var output = new MemoryStream())
        {
            var buffer = new byte[81920];
            try
            {
                int n;
                while ((n = stream.Read(buffer)) > 0)
                {
                    if (output.Length + n > max)
                        throw TooLarge($"content-encoding {encoding}: decodes to more than the {max} bytes allowed");
                    output.Write(buffer, 0, n);
                }
            }
            catch (InvalidDataException e) when (!IsTooLarge(e))
            {
                throw new InvalidDataException($"content-encoding {encoding}: corrupt body ({e.Message})");
            }
            return output.ToArray();
        }
    }
}
