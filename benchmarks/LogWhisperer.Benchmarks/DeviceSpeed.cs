using System.Diagnostics;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;
using LogWhisperer.Training;
using static TorchSharp.torch;

namespace LogWhisperer.Benchmarks;

/// <summary> `device [epochs]`: GAT scoring and training speed on every device this machine has (the CPU, and CUDA when
/// a GPU is usable), for the GPU figures in docs/evaluation.md. Scoring: random features on graphs of 100 and 1,000
/// services (~2 callers each), one snapshot and 32 in one batch; the median of 20 calls after 3 warm-up calls (a call
/// ends with the scores on the host, so it includes the copy back). Training: a simulated training set (online-boutique
/// and train-ticket, 2 clusters of 16 incidents each), made once on the CPU, then a few epochs on each device with the
/// shipped model's configuration; seconds per epoch, the first (warm-up) epoch reported apart.
/// </summary>
public static class DeviceSpeed
{
    public static async Task<int> RunAsync(string[] args)
    {
        int epochs = args.Length > 0 ? int.Parse(args[0]) : 3;
        var devices = new List<Device> { CPU };
        if (cuda.is_available())
            devices.Add(CUDA);
        Console.WriteLine(
            $"devices: {string.Join(", ", devices.Select(ComputeDevice.Describe))}; {Environment.ProcessorCount} CPU cores"
        );

        foreach (var device in devices)
        foreach (int nodes in new[] { 100, 1000 })
        foreach (int graphs in new[] { 1, 32 })
        {
            manual_seed(1);
            var scorer = new GatScorer(new GatModel(new GatConfig { RelativeFeatures = true }), device);
            var batch = Enumerable.Range(0, graphs).Select(g => ScoringBenchmark.RandomSnapshot(nodes, g)).ToArray();
            for (int i = 0; i < 3; i++)
                scorer.Score(batch);
            var times = new double[20];
            for (int i = 0; i < times.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                scorer.Score(batch);
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            double median = times[times.Length / 2];
            Console.WriteLine(
                $"score  {ComputeDevice.Describe(device), -22} {nodes, 5} nodes × {graphs, 2} graphs: "
                    + $"median {median, 8:0.00} ms, p95 {times[18], 8:0.00} ms, {graphs * 1000 / median, 8:N0} graphs/s"
            );
        }

        var clock = Stopwatch.StartNew();
        var topologies = new[] { "online-boutique", "train-ticket" }
            .Select(n => Topology.Load(Path.Combine(AppContext.BaseDirectory, "topologies", n + ".json")))
            .ToArray();
        var all = await TrainingSet.GenerateAsync(topologies, 2, 16, 42);
        var validation = all.Where((_, i) => i % 5 == 0).ToList();
        var train = all.Where((_, i) => i % 5 != 0).ToList();
        Console.WriteLine(
            $"training set: {train.Count} windows for training, "
                + $"{validation.Count} for validation, simulated in {clock.Elapsed.TotalSeconds:0.0} s"
        );
        foreach (var device in devices)
        {
            var trainer = new GatTrainer(new TrainOptions { Epochs = epochs, Patience = epochs + 1 }, device);
            var marks = new List<double>();
            clock.Restart();
            trainer.Train(
                new GatConfig { RelativeFeatures = true },
                train,
                validation,
                _ => marks.Add(clock.Elapsed.TotalSeconds)
            );
            var perEpoch = marks.Zip(marks.Skip(1), (a, b) => b - a).ToArray();
            Console.WriteLine(
                $"train  {ComputeDevice.Describe(device), -22} first epoch {marks[0], 6:0.00} s, "
                    + $"then {(perEpoch.Length > 0 ? perEpoch.Average() : double.NaN), 6:0.00} "
                    + $"s per epoch ({train.Count} windows, "
                    + "batches of 32, validation included)"
            );
        }
        return 0;
    }
}
