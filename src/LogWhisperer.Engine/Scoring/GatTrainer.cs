using LogWhisperer.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

public sealed record TrainOptions
{
    public int Epochs { get; init; } = 60;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 3e-3;
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Epochs without a better validation score before training stops.</summary>
    public int Patience { get; init; } = 12;
    public int Seed { get; init; } = 42;

    /// <summary>Share of training graphs that have one <see cref="Features.FeatureSchema.EvidenceGroups"/> group
    /// withheld.</summary>
    public double EvidenceDropout { get; init; } = 0.3;
}

public sealed record EpochReport(
    int Epoch,
    double TrainLoss,
    double ValidationLoss,
    double ValidationAc1,
    double ValidationIncidentAccuracy
);

/// <summary>
/// Supervised training on labelled snapshots: root-cause cross-entropy over each incident graph's nodes,
/// fault-kind cross-entropy at the root, and an incident/quiet loss weighted for the imbalance between
/// them. Keeps the weights of the best validation epoch and stops early.
/// </summary>
public sealed class GatTrainer(TrainOptions options, Device device)
{
    private static readonly Scalar KindWeight = 0.5.ToScalar(); // owned, see GroupOps
    public List<EpochReport> History { get; } = [];

    public GatModel Train(
        GatConfig config,
        IReadOnlyList<GraphSnapshot> train,
        IReadOnlyList<GraphSnapshot> validation,
        Action<EpochReport>? progress = null
    )
    {
        manual_seed(options.Seed);
        var model = new GatModel(config);
        model.to(device);
        return Fit(model, train, validation, progress);
    }

    /// <summary>
    /// Few-shot fine-tuning: continues training an existing model on a user's own labelled incidents (use a
    /// smaller learning rate and few epochs in the options). The temperature is refitted.
    /// </summary>
    public GatModel FineTune(
        GatModel model,
        IReadOnlyList<GraphSnapshot> train,
        IReadOnlyList<GraphSnapshot> validation,
        Action<EpochReport>? progress = null
    )
    {
        manual_seed(options.Seed);
        model.Config = model.Config with { Temperature = 1 };
        model.to(device);
        return Fit(model, train, validation, progress);
    }

    private GatModel Fit(
        GatModel model,
        IReadOnlyList<GraphSnapshot> train,
        IReadOnlyList<GraphSnapshot> validation,
        Action<EpochReport>? progress
    )
    {
        if (train.Count == 0)
            throw new ArgumentException("no training snapshots");
        using var optimizer = AdamOptimizer.AdamW(model.parameters(), options.LearningRate, options.WeightDecay);
        double positives = train.Count(s => s.Label?.IsIncident == true),
            negatives = train.Count - positives;
        float positiveWeight = (float)Math.Clamp(negatives / Math.Max(1, positives), 0.2, 20);
        var rng = new Random(options.Seed);
        var order = Enumerable.Range(0, train.Count).ToArray();
        Dictionary<string, Tensor>? best = null;
        double bestScore = double.NegativeInfinity;
        int sinceBest = 0;

        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            model.train();
            rng.Shuffle(order);
            double lossSum = 0;
            int batches = 0;
            for (int b = 0; b < order.Length; b += options.BatchSize)
            {
                using var scope = NewDisposeScope();
                var items = order.Skip(b).Take(options.BatchSize).Select(i => train[i]).ToArray();
                var withheld = items
                    .Select(_ =>
                        rng.NextDouble() < options.EvidenceDropout
                            ? Features.FeatureSchema.EvidenceGroups[
                                rng.Next(Features.FeatureSchema.EvidenceGroups.Length)
                            ]
                            : null
                    )
                    .ToArray();
                optimizer.zero_grad();
                var loss = Loss(model, items, positiveWeight, withheld).Total;
                loss.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 5.0);
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }
            var (valLoss, ac1, incidentAccuracy) = Validate(
                model,
                validation.Count > 0 ? validation : train,
                positiveWeight
            );
            var report = new EpochReport(epoch, lossSum / Math.Max(1, batches), valLoss, ac1, incidentAccuracy);
            History.Add(report);
            progress?.Invoke(report);
            double score = ac1 + 0.5 * incidentAccuracy - 0.01 * valLoss;
            if (score > bestScore)
            {
                bestScore = score;
                sinceBest = 0;
                best?.Values.ToList().ForEach(t => t.Dispose());
                best = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            }
            else if (++sinceBest >= options.Patience)
                break;
        }
        if (best is not null)
            model.load_state_dict(best);
        model.eval();
        Calibrate(model, validation.Count > 0 ? validation : train);
        return model;
    }

    /// <summary>Calibration of the chosen root cause's score: reliability before and after temperature
    /// scaling.</summary>
    public (double Temperature, double EceBefore, double EceAfter) Calibration { get; private set; }

    /// <summary>
    /// Temperature scaling (Guo et al. 2017): one scalar dividing the root-cause logits, chosen to minimise
    /// the validation negative log-likelihood, so that a score of 0.8 is right about 80 % of the time.
    /// </summary>
    private void Calibrate(GatModel model, IReadOnlyList<GraphSnapshot> snapshots)
    {
        var incidents = snapshots.Where(s => s.Label?.RootService is { } root && s.IndexOf(root) >= 0).ToArray();
        if (incidents.Length < 10)
            return;
        var (logits, rootIndex, offsets) = RootLogits(model, incidents);
        double Nll(double t)
        {
            double sum = 0;
            for (int g = 0; g < incidents.Length; g++)
            {
                var span = logits.AsSpan(offsets[g], offsets[g + 1] - offsets[g]);
                double max = double.NegativeInfinity;
                foreach (var v in span)
                    max = Math.Max(max, v / t);
                double z = 0;
                foreach (var v in span)
                    z += Math.Exp(v / t - max);
                sum -= logits[rootIndex[g]] / t - max - Math.Log(z);
            }
            return sum / incidents.Length;
        }
        double best = 1,
            bestNll = Nll(1);
        for (double t = 0.25; t <= 8; t *= 1.1)
        {
            double nll = Nll(t);
            if (nll < bestNll)
            {
                bestNll = nll;
                best = t;
            }
        }
        double before = ExpectedCalibrationError(logits, rootIndex, offsets, 1);
        model.Config = model.Config with { Temperature = best };
        Calibration = (best, before, ExpectedCalibrationError(logits, rootIndex, offsets, best));
    }

    private (float[] Logits, int[] Root, int[] Offsets) RootLogits(
        GatModel model,
        IReadOnlyList<GraphSnapshot> snapshots
    )
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var batch = GraphBatch.Collate(snapshots, device, model.Config.UseEdges);
        using var temperature = model.Config.Temperature.ToScalar(); // owned, see GroupOps
        var logits = model.forward(batch).NodeLogits.mul(temperature).cpu().data<float>().ToArray();
        var (root, _, _) = GraphBatch.Targets(snapshots, batch.NodeOffsets);
        return (logits, root.Select(r => (int)r).ToArray(), batch.NodeOffsets);
    }

    /// <summary>ECE over 10 confidence bins of the top-ranked node's probability.</summary>
    internal static double ExpectedCalibrationError(float[] logits, int[] root, int[] offsets, double temperature)
    {
        var bins = new (double Confidence, double Correct, int Count)[10];
        int graphs = root.Length;
        for (int g = 0; g < graphs; g++)
        {
            var span = logits.AsSpan(offsets[g], offsets[g + 1] - offsets[g]);
            int top = 0;
            double max = double.NegativeInfinity;
            for (int i = 0; i < span.Length; i++)
                if (span[i] / temperature > max)
                {
                    max = span[i] / temperature;
                    top = i;
                }
            double z = 0;
            foreach (var v in span)
                z += Math.Exp(v / temperature - max);
            double confidence = 1 / z;
            int bin = Math.Min(9, (int)(confidence * 10));
            bins[bin] = (
                bins[bin].Confidence + confidence,
                bins[bin].Correct + (offsets[g] + top == root[g] ? 1 : 0),
                bins[bin].Count + 1
            );
        }
        return bins.Where(b => b.Count > 0).Sum(b => Math.Abs(b.Confidence - b.Correct) / graphs);
    }

    private (double Loss, double Ac1, double IncidentAccuracy) Validate(
        GatModel model,
        IReadOnlyList<GraphSnapshot> snapshots,
        float positiveWeight
    )
    {
        model.eval();
        using var noGrad = no_grad();
        double loss = 0;
        int hits = 0,
            incidents = 0,
            incidentCorrect = 0;
        for (int b = 0; b < snapshots.Count; b += 256)
        {
            using var scope = NewDisposeScope();
            var items = snapshots.Skip(b).Take(256).ToArray();
            var (total, output, batch, root, incident) = Loss(model, items, positiveWeight);
            loss += total.item<float>() * items.Length;
            var probs = GroupOps.GraphLogSoftmax(output.NodeLogits, batch).exp().cpu().data<float>().ToArray();
            var inc = nn.functional.sigmoid(output.IncidentLogits).cpu().data<float>().ToArray();
            for (int g = 0; g < items.Length; g++)
            {
                if ((inc[g] >= 0.5) == (incident[g] > 0.5))
                    incidentCorrect++;
                if (root[g] < 0)
                    continue;
                incidents++;
                int n0 = batch.NodeOffsets[g],
                    n = batch.NodeOffsets[g + 1] - n0;
                var span = probs.AsSpan(n0, n);
                int argmax = 0;
                for (int i = 1; i < n; i++)
                    if (span[i] > span[argmax])
                        argmax = i;
                if (n0 + argmax == root[g])
                    hits++;
            }
        }
        return (
            loss / Math.Max(1, snapshots.Count),
            incidents == 0 ? 0 : (double)hits / incidents,
            (double)incidentCorrect / Math.Max(1, snapshots.Count)
        );
    }

    private (Tensor Total, GatOutput Output, GraphBatch Batch, long[] Root, float[] Incident) Loss(
        GatModel model,
        IReadOnlyList<GraphSnapshot> items,
        float positiveWeight,
        IReadOnlyList<Features.EvidenceGroup?>? withheld = null
    )
    {
        var batch = GraphBatch.Collate(items, device, model.Config.UseEdges, withheld);
        var (root, kind, incident) = GraphBatch.Targets(items, batch.NodeOffsets);
        var output = model.forward(batch);
        var incidentTarget = tensor(incident).to(device);
        var total = nn.functional.binary_cross_entropy_with_logits(
            output.IncidentLogits,
            incidentTarget,
            pos_weights: tensor(new[] { positiveWeight }).to(device)
        );
        var positive = Enumerable.Range(0, items.Count).Where(g => root[g] >= 0).ToArray();
        if (positive.Length > 0)
        {
            var logp = GroupOps.GraphLogSoftmax(output.NodeLogits, batch);
            var rootIndex = tensor(positive.Select(g => root[g]).ToArray()).to(device);
            total = total.add(logp.index_select(0, rootIndex).mean().neg(), GroupOps.One); // owned alpha, see GroupOps
            var withKind = positive.Where(g => kind[g] >= 0).ToArray();
            if (withKind.Length > 0)
            {
                var kindLogits = output.KindLogits.index_select(
                    0,
                    tensor(withKind.Select(g => root[g]).ToArray()).to(device)
                );
                total = total.add(
                    nn.functional.cross_entropy(kindLogits, tensor(withKind.Select(g => kind[g]).ToArray()).to(device))
                        .mul(KindWeight),
                    GroupOps.One
                );
            }
        }
        return (total, output, batch, root, incident);
    }
}
