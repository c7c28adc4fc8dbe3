using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Features.Logs;

public sealed record LogBertTrainOptions
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Share of keys masked per training chunk (LogBERT: masked log-key prediction).</summary>
    public double MaskRatio { get; init; } = 0.3;

    /// <summary>Weight of the hypersphere (volume) loss that pulls normal sequence embeddings to one centre.</summary>
    public double HypersphereWeight { get; init; } = 0.1;

    /// <summary>A masked key counts as a miss when it is not among this many most likely predictions.</summary>
    public int TopCandidates { get; init; } = 3;

    /// <summary>Chunks scored per window at most (evenly spread), bounding the cost of a busy window.</summary>
    public int MaxChunksPerWindow { get; init; } = 8;

    /// <summary>Training chunks at most (a uniform sample beyond it), bounding training time on a CPU.</summary>
    public int MaxTrainingChunks { get; init; } = 3000;
    public int Seed { get; init; } = 7;
}

/// <summary>What the model says about one (service, window).</summary>
/// <param name="MissRatio">Share of the window's keys the model did not expect (not in its top candidates, or never
/// seen): LogBERT's anomaly signal, 0..1.</param>
/// <param name="Distance">Distance of the window's summary embedding from the centre of normal windows (hypersphere),
/// in units of the training radius.</param>
/// <param name="Embedding">The window's summary embedding (mean over its chunks).</param>
internal sealed record LogBertScore(
    string Service,
    long WindowStartMs,
    int Keys,
    double MissRatio,
    double Distance,
    float[] Embedding
)
{
    /// <summary>One anomaly score: unexpected keys, plus distance beyond the normal radius.</summary>
    public double Score => MissRatio + 0.1 * Math.Max(0, Distance - 1);
}

/// <summary>
/// LogBERT-style anomaly detection for log-key sequences: trained self-supervised on normal windows only
/// (masked key prediction + hypersphere), then scores any (service, window). Runs on the GPU when one is
/// usable (pass the device from <see cref="Scoring.ComputeDevice"/>), else on the CPU.
/// </summary>
internal sealed class LogBertDetector
{
    private readonly TemplateTextEncoder _text;
    private readonly Device _device;
    private Tensor? _centre;
    private double _radius = 1;
    private readonly Scalar _sphereWeight,
        _unknownKey;

    private LogBertDetector(
        LogBertModel model,
        LogKeyVocabulary vocabulary,
        TemplateTextEncoder text,
        LogBertTrainOptions options,
        Device device
    )
    {
        Model = model;
        Vocabulary = vocabulary;
        _text = text;
        Options = options;
        _device = device;
        // Scalars we own (see LogBertModel.One): implicit conversions can be finalised while libtorch still reads them.
        _sphereWeight = options.HypersphereWeight.ToScalar();
        _unknownKey = LogKeyVocabulary.Unknown.ToScalar();
    }

    public LogBertModel Model { get; }
    public LogKeyVocabulary Vocabulary { get; }
    public LogBertTrainOptions Options { get; }
    public List<double> LossHistory { get; } = [];

    public static LogBertDetector Train(
        IReadOnlyList<LogKeySequence> normal,
        LogBertConfig? config = null,
        LogBertTrainOptions? options = null,
        Device? device = null
    )
    {
        config ??= new LogBertConfig();
        options ??= new LogBertTrainOptions();
        device ??= CPU;
        var vocabulary = new LogKeyVocabulary();
        foreach (var s in normal)
        foreach (int t in s.Templates)
            vocabulary.Add(s.Service, t);
        manual_seed(options.Seed);
        var model = new LogBertModel(config, vocabulary.Count);
        model.to(device);
        var detector = new LogBertDetector(
            model,
            vocabulary,
            new TemplateTextEncoder(config.TextPieces),
            options,
            device
        );
        using (SingleThreaded(device))
            detector.Fit(normal);
        return detector;
    }

    private void Fit(IReadOnlyList<LogKeySequence> normal)
    {
        int len = Model.Config.SequenceLength;
        // Training chunks slide with half overlap, so every key is seen in two contexts.
        var chunks = normal.SelectMany(s => Chunks(s, len, len / 2, 4 * Options.MaxChunksPerWindow)).ToList();
        if (chunks.Count == 0)
            throw new ArgumentException("no log keys to train on");
        var rng = new Random(Options.Seed);
        if (chunks.Count > Options.MaxTrainingChunks)
        {
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(chunks));
            chunks.RemoveRange(Options.MaxTrainingChunks, chunks.Count - Options.MaxTrainingChunks);
        }
        using var optimizer = Scoring.AdamOptimizer.Adam(Model.parameters(), Options.LearningRate);
        _centre = zeros(Model.Config.Dim, device: _device);
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            Model.train();
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(chunks));
            double lossSum = 0;
            int batches = 0;
            var centreSum = zeros(Model.Config.Dim, device: _device);
            for (int b = 0; b < chunks.Count; b += Options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var batch = chunks.GetRange(b, Math.Min(Options.BatchSize, chunks.Count - b));
                var (keyIds, pieceIds, masked, targets) = Batch(batch, rng, Options.MaskRatio, phase: -1);
                var (hidden, logits) = Model.call(keyIds, pieceIds);
                var maskLoss = masked.any().item<bool>()
                    ? nn.functional.cross_entropy(logits[masked], targets[masked])
                    : zeros(1, device: _device).sum();
                var dist = hidden.select(1, 0);
                // Mean over dimensions keeps the volume term on the scale of the prediction loss.
                // Explicit alphas: see LogBertModel.forward.
                var sphere = dist.add(_centre, LogBertModel.MinusOne).pow(LogBertModel.Two).mean();
                var loss = maskLoss.add(sphere.mul(_sphereWeight), LogBertModel.One);
                optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(Model.parameters(), 1.0);
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
                centreSum.add_(dist.detach().sum(0), LogBertModel.One);
            }
            // LogBERT's centre: the mean summary embedding of normal sequences, refreshed every epoch.
            // An owned Scalar: the `/` operator's implicit one can be finalised mid-call (see AdamOptimizer).
            using var count = chunks.Count.ToScalar();
            _centre = centreSum.div(count).detach().MoveToOuterDisposeScope();
            LossHistory.Add(lossSum / batches);
        }
        // The normal radius: the 95th percentile of training windows' distances.
        var sample =
            normal.Count <= 500
                ? normal
                : Enumerable.Range(0, 500).Select(i => normal[(int)((long)i * normal.Count / 500)]).ToList();
        var d = ScoreRaw(sample).Select(s => s.Distance).Order().ToArray();
        _radius = Math.Max(1e-6, d[(int)Math.Min(d.Length - 1, Math.Floor(0.95 * d.Length))]);
    }

    public LogBertScore Score(LogKeySequence sequence) => ScoreAll([sequence])[0];

    /// <summary>Scores many windows at once: their chunks share forward passes (much cheaper than one by
    /// one).</summary>
    public IReadOnlyList<LogBertScore> ScoreAll(IReadOnlyList<LogKeySequence> sequences)
    {
        var raw = ScoreRaw(sequences);
        return raw.Select(r => r with { Distance = r.Distance / _radius }).ToArray();
    }

    /// <summary>
    /// This model is tiny: on a CPU, libtorch's intra-op threads cost more in hand-offs than they save, and on a
    /// busy machine a descheduled helper thread stalls every op. One thread while any detector runs; the
    /// process-wide setting is restored when the last one finishes (counted, as detectors may run concurrently).
    /// </summary>
    private static IDisposable SingleThreaded(Device device)
    {
        if (device.type != DeviceType.CPU)
            return new Restore(() => { });
        lock (ThreadGate)
        {
            if (_singleThreadedUsers++ == 0)
            {
                _threadsBefore = get_num_threads();
                set_num_threads(1);
            }
        }
        return new Restore(() =>
        {
            lock (ThreadGate)
                if (--_singleThreadedUsers == 0)
                    set_num_threads(_threadsBefore);
        });
    }

    private static readonly object ThreadGate = new();
    private static int _singleThreadedUsers,
        _threadsBefore;

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    private LogBertScore[] ScoreRaw(IReadOnlyList<LogKeySequence> sequences)
    {
        using var threads = SingleThreaded(_device);
        int len = Model.Config.SequenceLength,
            dim = Model.Config.Dim;
        var chunks = new List<Chunk>();
        var owner = new List<int>();
        for (int i = 0; i < sequences.Count; i++)
            foreach (var c in Chunks(sequences[i], len, len, Options.MaxChunksPerWindow))
            {
                chunks.Add(c);
                owner.Add(i);
            }
        var misses = new double[sequences.Count];
        var keys = new int[sequences.Count];
        var summaries = new float[sequences.Count * dim];
        var chunkCount = new int[sequences.Count];
        Model.eval();
        using (no_grad())
            for (int b = 0; b < chunks.Count; b += 256)
            {
                using var scope = NewDisposeScope();
                var batch = chunks.GetRange(b, Math.Min(256, chunks.Count - b));
                // Two passes mask the even and then the odd positions, so every key is predicted from its context.
                for (int phase = 0; phase < 2; phase++)
                {
                    var (keyIds, pieceIds, masked, targets) = Batch(batch, null, 0, phase);
                    var (_, logits) = Model.call(keyIds, pieceIds);
                    var top = logits.topk(Options.TopCandidates, -1).indexes; // B, S, g
                    var hit = top.eq(targets.unsqueeze(-1)).any(-1) & targets.ne(_unknownKey);
                    var missed = (masked & hit.logical_not()).sum(1).cpu().data<long>().ToArray();
                    var counted = masked.sum(1).cpu().data<long>().ToArray();
                    for (int i = 0; i < batch.Count; i++)
                    {
                        misses[owner[b + i]] += missed[i];
                        keys[owner[b + i]] += (int)counted[i];
                    }
                }
                var (k, p, _, _) = Batch(batch, null, 0, -1);
                var summary = Model.call(k, p).Hidden.select(1, 0).cpu().data<float>().ToArray();
                for (int i = 0; i < batch.Count; i++)
                {
                    int o = owner[b + i];
                    chunkCount[o]++;
                    for (int d = 0; d < dim; d++)
                        summaries[o * dim + d] += summary[i * dim + d];
                }
            }
        var centre = _centre is null ? new float[dim] : _centre.cpu().data<float>().ToArray();
        var result = new LogBertScore[sequences.Count];
        for (int i = 0; i < sequences.Count; i++)
        {
            var e = new float[dim];
            double dist = 0;
            for (int d = 0; d < dim; d++)
            {
                e[d] = chunkCount[i] == 0 ? 0 : summaries[i * dim + d] / chunkCount[i];
                dist += (e[d] - centre[d]) * (double)(e[d] - centre[d]);
            }
            result[i] = new LogBertScore(
                sequences[i].Service,
                sequences[i].WindowStartMs,
                keys[i],
                keys[i] == 0 ? 0 : misses[i] / keys[i],
                chunkCount[i] == 0 ? 0 : Math.Sqrt(dist),
                e
            );
        }
        return result;
    }

    private sealed record Chunk(int[] Keys, int[][] Pieces);

    private IEnumerable<Chunk> Chunks(LogKeySequence s, int len, int stride, int max)
    {
        int n = s.Templates.Count;
        if (n == 0)
            yield break;
        var starts = new List<int>();
        for (int start = 0; start < n; start += stride)
        {
            starts.Add(start);
            if (start + len >= n)
                break;
        }
        // Too many chunks: take evenly spread ones (a busy window is still judged across its whole span).
        var chosen =
            starts.Count <= max
                ? starts
                : Enumerable.Range(0, max).Select(i => starts[(int)((long)i * starts.Count / max)]).ToList();
        foreach (int start in chosen)
        {
            int m = Math.Min(len, n - start);
            var keys = new int[m];
            var pieces = new int[m][];
            for (int i = 0; i < m; i++)
            {
                keys[i] = Vocabulary.IndexOf(s.Service, s.Templates[start + i]);
                pieces[i] = _text.Encode(s.Texts[start + i]);
            }
            yield return new Chunk(keys, pieces);
        }
    }

    /// <summary>
    /// Tensors for a batch. phase -1 with a random source masks a random share (training); phase 0/1 masks the
    /// even/odd positions (scoring); phase -1 without one masks nothing. A masked key loses its text too, or the
    /// text would give the answer away.
    /// </summary>
    private (Tensor Keys, Tensor Pieces, Tensor Masked, Tensor Targets) Batch(
        IReadOnlyList<Chunk> chunks,
        Random? rng,
        double ratio,
        int phase
    )
    {
        int s = Model.Config.SequenceLength + 1,
            p = Model.Config.TextPieces,
            b = chunks.Count;
        var keys = new long[b * s];
        var pieces = new long[b * s * p];
        var masked = new bool[b * s];
        var targets = new long[b * s];
        for (int i = 0; i < b; i++)
        {
            keys[i * s] = LogKeyVocabulary.Dist;
            var c = chunks[i];
            for (int j = 0; j < c.Keys.Length; j++)
            {
                int pos = i * s + j + 1;
                bool mask = phase >= 0 ? j % 2 == phase : rng is not null && rng.NextDouble() < ratio;
                targets[pos] = c.Keys[j];
                if (mask)
                {
                    keys[pos] = LogKeyVocabulary.Mask;
                    masked[pos] = true;
                    continue;
                }
                keys[pos] = c.Keys[j];
                var pc = c.Pieces[j];
                for (int q = 0; q < pc.Length && q < p; q++)
                    pieces[pos * p + q] = pc[q];
            }
        }
        return (
            tensor(keys, [b, s], device: _device),
            tensor(pieces, [b, s, p], device: _device),
            tensor(masked, [b, s], device: _device),
            tensor(targets, [b, s], device: _device)
        );
    }
}
