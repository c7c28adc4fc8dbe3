using System.Diagnostics;
using System.Threading.Channels;
using LogWhisperer.Graph;
using LogWhisperer.Observability;
using LogWhisperer.Scoring;

namespace LogWhisperer.Pipeline;

/// <summary>
/// The score stage: takes whatever snapshots are waiting (up to <c>maxBatch</c>) and scores them in one forward
/// pass, so a backlog is scored in batches (a GPU pays off only there) while a lone window is not kept waiting.
/// </summary>
internal sealed class ScoreStage(StageMetrics metrics, GatScorer scorer, int maxBatch, EngineMetrics? engineMetrics)
{
    public Task RunAsync(
        ChannelReader<GraphSnapshot> input,
        ChannelWriter<ScoredSnapshot> output,
        CancellationToken abort
    ) =>
        StageOutput.CompleteAfter(
            output,
            async () =>
            {
                var batch = new List<GraphSnapshot>(maxBatch);
                while (await input.WaitToReadAsync(abort))
                {
                    batch.Clear();
                    while (batch.Count < maxBatch && input.TryRead(out var s))
                        batch.Add(s);
                    using var activity = metrics.Tracing.StartActivity(metrics.Name);
                    activity?.SetTag("logwhisperer.items_in", batch.Count);
                    long t0 = Stopwatch.GetTimestamp();
                    var results = scorer.Score(batch);
                    metrics.AddBusy(t0);
                    engineMetrics?.ScoringPass(Stopwatch.GetElapsedTime(t0));
                    metrics.AddIn(batch.Count);
                    foreach (var r in results)
                        await output.WriteAsync(r, abort);
                    metrics.AddOut(results.Length);
                }
            }
        );
}
