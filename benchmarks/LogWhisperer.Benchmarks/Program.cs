using BenchmarkDotNet.Running;
using LogWhisperer.Benchmarks;

// `e2e [services] [minutes] [speed]`: the end-to-end throughput run (and, with a speed, window latency paced at that
// multiple of real time); anything else (but `sim`) goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "e2e")
    return await EndToEnd.RunAsync(args.Skip(1).ToArray());

// `sim [services] [minutes]`: the chaos simulator alone, in memory and encoded to the wire formats.
if (args.Length > 0 && args[0] == "sim")
    return SimulatorSpeed.Run(args.Skip(1).ToArray());
if (args.Length > 0 && args[0] == "decode")
    return DecodeQuick.Run(args.Skip(1).ToArray());
if (args.Length > 0 && args[0] == "kafka-ingest")
    return await KafkaIngest.RunAsync(args.Skip(1).ToArray());

// `dataset DIR [mapping.json]`: reading a labelled dataset's CSV files the way `replay` does.
if (args.Length > 0 && args[0] == "dataset")
    return DatasetRead.Run(args.Skip(1).ToArray());

// `fuzz [inputs per decoder] [seed]`: every decoder fed mutated payloads; non-zero exit on any crash.
if (args.Length > 0 && args[0] == "fuzz")
    return FuzzRun.Run(args.Skip(1).ToArray());

// `burst [factor] [minutes] [shed above]`: memory and events at a multiple of normal volume.
if (args.Length > 0 && args[0] == "burst")
    return await Degraded.BurstAsync(args.Skip(1).ToArray());

// `degraded [incidents] [seed]`: AC@1 with logs missing, traces at 1 %, logs skewed, batches redelivered.
if (args.Length > 0 && args[0] == "degraded")
    return await Degraded.AccuracyAsync(args.Skip(1).ToArray());

// `hostile [records]`: a new service name per log line (cardinality limits under attack).
if (args.Length > 0 && args[0] == "hostile")
    return await HostileServices.RunAsync(args.Skip(1).ToArray());

// `drain-speed [rounds]`: the template miner's steady-state lines/s per Loghub sample and on a simulated mesh.
if (args.Length > 0 && args[0] == "drain-speed")
    return DrainSpeed.Run(args.Skip(1).ToArray());

// `soak [services] [minutes]`: resident and managed memory over a long live stream, first third against last.
if (args.Length > 0 && args[0] == "soak")
    return await Soak.RunAsync(args.Skip(1).ToArray());

// `capacity [services] [minutes] [kafka]`: CPU per million records and per window for each stage, memory per held span,
// and one against two window engines on Kafka: what docs/capacity.md's model is built from and checked against.
if (args.Length > 0 && args[0] == "capacity")
    return await Capacity.RunAsync(args.Skip(1).ToArray());

// `device [epochs]`: GAT scoring and training speed on the CPU and, when a GPU is usable, on CUDA.
if (args.Length > 0 && args[0] == "device")
    return await DeviceSpeed.RunAsync(args.Skip(1).ToArray());
BenchmarkSwitcher.FromAssembly(typeof(EndToEnd).Assembly).Run(args);
return 0;
