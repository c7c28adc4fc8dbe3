namespace LogWhisperer.Decode;

/// <summary>
/// The 1 MiB chunks <see cref="PooledChunks"/> are made of. Kept for reuse (a burst of large bodies reuses the
/// same memory instead of leaving garbage behind), at most <see cref="MaxRetained"/> of them, until
/// <see cref="Trim"/> lets them all go (an idle gateway gives its burst memory back).
/// </summary>
public sealed class ChunkPool
{
    public static ChunkPool Shared { get; } = new();
    public const int MaxRetained = 256;
    private readonly System.Collections.Concurrent.ConcurrentBag<byte[]> _free = [];

    public byte[] Rent() =>
        _free.TryTake(out var chunk) ? chunk : GC.AllocateUninitializedArray<byte>(PooledChunks.ChunkSize);

    public void Return(byte[] chunk)
    {
        if (_free.Count < MaxRetained)
            _free.Add(chunk);
    }

    /// <summary>Chunks held for reuse now.</summary>
    public int Retained => _free.Count;

    public void Trim()
    {
        while (_free.TryTake(out _)) { }
    }
}

/// <summary>
/// A byte buffer made of 1 MiB chunks from a <see cref="ChunkPool"/>, with a hard cap. Unlike a
/// MemoryStream it never doubles (no 2× transient copies, no large arrays left behind for the GC): a body that
/// grows to the cap holds exactly the cap, and gives its chunks back on Dispose.
/// </summary>
public sealed class PooledChunks : IDisposable
{
    public const int ChunkSize = 1 << 20;
    private readonly List<byte[]> _chunks = [];
    private readonly long _cap;

    public long Length { get; private set; }

    /// <param name="cap">Appending past this many bytes throws <see cref="CapExceededException"/>.</param>
    public PooledChunks(long cap) => _cap = cap;

    public sealed class CapExceededException(long cap) : Exception($"more than {cap} bytes");

    /// <summary>Reads the stream to its end into the chunks.</summary>
    public async Task ReadFromAsync(Stream source, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (chunk, offset) = Tail();
            int n = await source.ReadAsync(chunk.AsMemory(offset, ChunkSize - offset), cancellationToken);
            if (n == 0)
                return;
            Advance(n);
        }
    }

    /// <summary>Reads the stream to its end into the chunks (synchronous: decompression streams over memory).</summary>
    public void ReadFrom(Stream source)
    {
        while (true)
        {
            var (chunk, offset) = Tail();
            int n = source.Read(chunk, offset, ChunkSize - offset);
            if (n == 0)
                return;
            Advance(n);
        }
    }

    private (byte[] Chunk, int Offset) Tail()
    {
        int offset = (int)(Length % ChunkSize);
        if (offset == 0 && _chunks.Count == Length / ChunkSize)
            _chunks.Add(ChunkPool.Shared.Rent());
        return (_chunks[^1], offset);
    }

    private void Advance(int n)
    {
        if (Length + n > _cap)
            throw new CapExceededException(_cap);
        Length += n;
    }

    /// <summary>The first bytes (for sniffing a format).</summary>
    public ReadOnlySpan<byte> Head(int count) =>
        _chunks.Count == 0 ? [] : _chunks[0].AsSpan(0, (int)Math.Min(count, Math.Min(Length, ChunkSize)));

    /// <summary>A read-only stream over the content (valid until Dispose).</summary>
    public Stream AsStream() => new ChunkStream(this);

    /// <summary>The content as one exact-size array (what decoders and the Kafka producer take).</summary>
    public byte[] ToArray()
    {
        var result = GC.AllocateUninitializedArray<byte>((int)Length);
        long copied = 0;
        foreach (var chunk in _chunks)
        {
            int n = (int)Math.Min(ChunkSize, Length - copied);
            if (n <= 0)
                break;
            chunk.AsSpan(0, n).CopyTo(result.AsSpan((int)copied));
            copied += n;
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks)
            ChunkPool.Shared.Return(chunk);
        _chunks.Clear();
        Length = 0;
    }

    private sealed class ChunkStream(PooledChunks owner) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => owner.Length;
        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            long left = owner.Length - _position;
            if (left <= 0 || buffer.Length == 0)
                return 0;
            int inChunk = (int)(_position % ChunkSize);
            int n = (int)Math.Min(Math.Min(buffer.Length, ChunkSize - inChunk), left);
            owner._chunks[(int)(_position / ChunkSize)].AsSpan(inChunk, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
