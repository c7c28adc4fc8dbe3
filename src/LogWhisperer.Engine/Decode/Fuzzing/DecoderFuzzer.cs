using System.Diagnostics;
using System.Text.RegularExpressions;
using LogWhisperer.Pipeline;
using LogWhisperer.Telemetry;

namespace LogWhisperer.Decode.Fuzzing;

/// <summary>What fuzzing one decoder found.</summary>
public sealed class FuzzReport(string target)
{
    public string Target { get; } = target;
    public long Inputs { get; internal set; }

    /// <summary>Payloads that decoded (their records may still be rejected one by one).</summary>
    public long DecodedOk { get; internal set; }

    /// <summary>Payloads refused whole with an <see cref="InvalidDataException"/> and dead-lettered.</summary>
    public long Rejected { get; internal set; }
    public long RecordsAccepted { get; internal set; }

    /// <summary>Decoded records refused by the validator or the ingest limits, each dead-lettered.</summary>
    public long RecordsRejected { get; internal set; }

    /// <summary>Any other exception: a bug.</summary>
    public long Crashes { get; internal set; }

    /// <summary>Rejections (payload or record) whose dead letter had no reason: must be 0.</summary>
    public long DeadLettersWithoutReason { get; internal set; }
    public long DeadLetters { get; internal set; }
    public long MaxGcHeapBytes { get; internal set; }
    public Dictionary<string, long> Reasons { get; } = [];

    /// <summary>The first few crashes: exception type, message, throwing frame, and the input (base64).</summary>
    public List<string> CrashSamples { get; } = [];
    public TimeSpan Elapsed { get; internal set; }
}

/// <summary>
/// Feeds a decoder mutated payloads and sorts every outcome: decoded (records then pass the validator and
/// the ingest limits, or are dead-lettered with a reason), rejected with an <see cref="InvalidDataException"/>
/// (dead-lettered with its reason), or crashed (any other exception, which is a bug). Deterministic per seed.
/// </summary>
public static partial class DecoderFuzzer
{
    public static FuzzReport Run(FuzzTarget target, long inputs, int seed, Func<TelemetryRecord, string?> checkRecord)
    {
        var report = new FuzzReport(target.Name);
        var rng = new Random(seed);
        var output = new List<TelemetryRecord>();
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < inputs; i++)
        {
            var payload = NextInput(target, rng);
            report.Inputs++;
            output.Clear();
            if ((i & 1023) == 0)
                report.MaxGcHeapBytes = Math.Max(report.MaxGcHeapBytes, GC.GetTotalMemory(false));
            try
            {
                target.Decode(payload, output);
            }
            catch (InvalidDataException e)
            {
                report.Rejected++;
                CountDeadLetter(
                    report,
                    new DeadLetter("decode", DeadLetterCode.Undecodable, e.Message, Convert.ToBase64String(payload))
                );
                continue;
            }
            catch (Exception e)
            {
                report.Crashes++;
                if (report.CrashSamples.Count < 5)
                    report.CrashSamples.Add(
                        $"{e.GetType().Name}: "
                            + $"{e.Message} at {new StackTrace(e).GetFrame(0)?.GetMethod()} input "
                            + $"{Convert.ToBase64String(payload.AsSpan(0, Math.Min(payload.Length, 4096)))}"
                    );
                continue;
            }
            report.DecodedOk++;
            foreach (var record in output)
            {
                if (checkRecord(record) is not { } reason)
                {
                    report.RecordsAccepted++;
                    continue;
                }
                report.RecordsRejected++;
                CountDeadLetter(
                    report,
                    LogWhisperer.Pipeline.DeadLetter.For("validate", DeadLetterCode.InvalidRecord, reason, record)
                );
            }
        }
        report.Elapsed = clock.Elapsed;
        return report;
    }

    /// <summary>Mostly mutants of a seed; now and then a seed unchanged, so the valid path stays covered.</summary>
    private static byte[] NextInput(FuzzTarget target, Random rng)
    {
        var seed = target.Seeds[rng.Next(target.Seeds.Count)];
        int mode = rng.Next(100);
        if (mode < 2)
            return target.Wrap is null ? seed : target.Wrap(seed);
        if (target.Wrap is null)
            return FuzzMutator.Mutate(seed, rng);
        // 70%: mutate the payload inside the compression, so the parsers see it; 30%: corrupt the compressed bytes.
        return mode < 72 ? target.Wrap(FuzzMutator.Mutate(seed, rng)) : FuzzMutator.Mutate(target.Wrap(seed), rng);
    }

    private static void CountDeadLetter(FuzzReport report, DeadLetter letter)
    {
        report.DeadLetters++;
        if (string.IsNullOrWhiteSpace(letter.Reason))
        {
            report.DeadLettersWithoutReason++;
            return;
        }
        var key = ReasonKey(letter.Reason);
        report.Reasons[key] = report.Reasons.GetValueOrDefault(key) + 1;
    }

    /// <summary>A reason with its specifics (numbers, quoted text, parser detail in parentheses) removed, for the
    /// histogram.</summary>
    public static string ReasonKey(string reason)
    {
        var key = Parenthesised().Replace(reason, "");
        key = Quoted().Replace(key, "…");
        key = Digits().Replace(key, "N");
        // attacker bytes stay printable
        key = string.Concat(key.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c));
        return key.Length <= 80 ? key : key[..80];
    }

    [GeneratedRegex(@"\s*\(.*\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(@"'[^']*'|""[^""]*""|\{.*\}")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"(?<![\w-])-?\d+(\.\d+)?(E[+-]?\d+)?")]
    private static partial Regex Digits(); // numbers, not the digits inside words (UTF-8, hex ids)
}
