using System.Diagnostics;
using System.Globalization;
using LogWhisperer.Decode;
using LogWhisperer.Decode.Fuzzing;

namespace LogWhisperer.Benchmarks;

/// <summary>
/// `fuzz [inputs per decoder] [seed]`: every decoder (and the gateway's body handling) fed mutated payloads;
/// prints per decoder inputs, decoded, rejected (dead-lettered, with the reason histogram), crashes and
/// the largest managed heap seen. Exit code 1 when anything crashed.
/// </summary>
public static class FuzzRun
{
    public static int Run(string[] args)
    {
        long inputs = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        int seed = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        var limits = new IngestLimits();
        long crashes = 0;
        foreach (var target in FuzzSeeds.Targets())
        {
            var report = DecoderFuzzer.Run(target, inputs, seed, r => RecordValidator.Validate(r) ?? limits.Check(r));
            crashes += report.Crashes + report.DeadLettersWithoutReason;
            Console.WriteLine(
                $"{report.Target, -20} inputs {report.Inputs, 10:N0}  decoded {report.DecodedOk, 9:N0} "
                    + $" rejected {report.Rejected, 9:N0}  crashes {report.Crashes}  "
                    + $"records ok {report.RecordsAccepted, 9:N0} rejected {report.RecordsRejected, 9:N0}  dead "
                    + $"letters {report.DeadLetters:N0} (without reason {report.DeadLettersWithoutReason})  "
                    + $"max heap {report.MaxGcHeapBytes / 1048576.0:N0} MiB  "
                    + $"{report.Inputs / report.Elapsed.TotalSeconds:N0} inputs/s"
            );
            foreach (var (reason, count) in report.Reasons.OrderByDescending(r => r.Value).Take(12))
                Console.WriteLine($"    {count, 9:N0}  {reason}");
            foreach (var crash in report.CrashSamples)
                Console.WriteLine($"  CRASH {crash}");
        }
        Console.WriteLine(
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576:N0} MiB; crashes {crashes}"
        );
        return crashes == 0 ? 0 : 1;
    }
}
