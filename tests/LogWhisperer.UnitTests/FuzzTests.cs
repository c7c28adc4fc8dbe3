using System.Text;
using LogWhisperer.Decode;
using LogWhisperer.Decode.Formats;
using LogWhisperer.Decode.Fuzzing;

namespace LogWhisperer.Tests;

/// <summary>The decoders under mutated input (the `fuzz` benchmark runs a million per decoder), and the bugs fuzzing
/// found.</summary>
public class FuzzTests
{
    public static TheoryData<string> Targets() => [.. FuzzSeeds.Targets().Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutatedPayloadsAreDecodedOrDeadLetteredNeverCrash(string name)
    {
        var target = FuzzSeeds.Targets().Single(t => t.Name == name);
        var limits = new IngestLimits();
        var report = DecoderFuzzer.Run(target, 20_000, seed: 7, r => RecordValidator.Validate(r) ?? limits.Check(r));

        Assert.True(report.Crashes == 0, string.Join("\n", report.CrashSamples));
        Assert.Equal(20_000, report.Inputs);
        Assert.Equal(report.Inputs, report.DecodedOk + report.Rejected);
        // Every rejection, of a payload or of one record, left a dead letter with a reason.
        Assert.Equal(report.Rejected + report.RecordsRejected, report.DeadLetters);
        Assert.Equal(0, report.DeadLettersWithoutReason);
        Assert.Equal(report.DeadLetters, report.Reasons.Values.Sum());
        // The mutants reach both outcomes: a fuzzer that only produces garbage (or only valid input) tests little.
        Assert.InRange(report.DecodedOk, 200, 19_000);
        Assert.True(report.RecordsAccepted > 0);
    }

    // ── Regressions: inputs the fuzzer found that escaped as exceptions other than InvalidDataException ──
    private static void Refused(TelemetryFormat format, string json, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            TelemetryDecoders.For(format, new DecodeOptions()).Decode(Encoding.UTF8.GetBytes(json), [])
        );
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void InvalidUtf8InsideAJsonStringIsRefused()
    {
        // Utf8JsonReader accepts it; JsonElement.GetString then threw InvalidOperationException.
        byte[] payload = [.. """{"time":1767225600,"msg":"caf"""u8, 0xC3, 0x28, .. "\"}"u8];
        foreach (
            var format in new[]
            {
                TelemetryFormat.JsonLogLine,
                TelemetryFormat.LokiJson,
                TelemetryFormat.OtlpLogsJson,
                TelemetryFormat.PromKafkaAdapter,
            }
        )
        {
            var e = Assert.Throws<InvalidDataException>(() =>
                TelemetryDecoders.For(format, new DecodeOptions()).Decode(payload, [])
            );
            Assert.Contains("not valid UTF-8", e.Message);
        }
    }

    [Fact]
    public void ALoneSurrogateEscapeIsRefused() =>
        Refused(
            TelemetryFormat.PromKafkaAdapter,
            """{"timestamp":"2026-01-01T00:00:00Z","value":"1","name":"up","labels":{"\udfff\ud800":"x"}}""",
            "unexpected JSON"
        );

    [Fact]
    public void AJsonValueOfTheWrongKindIsRefused()
    {
        Refused(TelemetryFormat.LokiJson, "\"streams\"", "no \"streams\" array"); // root is a string
        Refused(TelemetryFormat.LokiJson, """{"streams":["x"]}""", "unexpected JSON"); // stream is not an object
        Refused(
            TelemetryFormat.OtlpTracesJson,
            """{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"1","endTimeUnixNano":"2","status":{"code":1e40}}]}]}]}""",
            "unexpected JSON"
        );
        Refused(
            TelemetryFormat.OtlpLogsJson,
            """{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"1767225600000000000","severityNumber":1.5}]}]}]}""",
            "unexpected JSON"
        );
    }

    // ── Compressed bodies ───────────────────────────────────────────────────────────────────────────────
    [Fact]
    public void AGzipBombIsRefusedAtTheCap()
    {
        var bomb = FuzzSeeds.Gzip(new byte[64 << 20]); // 64 MiB of zeros in a body far below the 1 MiB cap
        Assert.True(bomb.Length < 512 * 1024, $"{bomb.Length} bytes");
        var e = Assert.Throws<InvalidDataException>(() => BodyDecoding.Decode(bomb, "gzip", 1 << 20));
        Assert.Contains("more than the 1048576 bytes allowed", e.Message);
        Assert.Equal(new byte[1000], BodyDecoding.Decode(FuzzSeeds.Gzip(new byte[1000]), "gzip", 1 << 20));
    }

    [Fact]
    public void ASnappyBodyDeclaringAHugeLengthIsRefusedBeforeAllocating()
    {
        var bomb = SnappyBlock.Compress(new byte[4 << 20]);
        var e = Assert.Throws<InvalidDataException>(() => BodyDecoding.Decode(bomb, "snappy", 1 << 20));
        Assert.Contains("decodes to 4194304 bytes", e.Message);
        Assert.Throws<InvalidDataException>(() =>
            BodyDecoding.Decode([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1, 2], "snappy", 1 << 20)
        );
        Assert.Throws<InvalidDataException>(() => BodyDecoding.Decode([1, 2, 3], "br", 1 << 20));
        Assert.Throws<InvalidDataException>(() => BodyDecoding.Decode([1, 2, 3], "gzip", 1 << 20));
    }

    [Fact]
    public void ReasonsAreGroupedWithoutTheirSpecifics()
    {
        Assert.Equal(
            "protobuf: length N runs past the end of the message",
            DecoderFuzzer.ReasonKey("protobuf: length 12345 runs past the end of the message")
        );
        Assert.Equal("json log: not valid UTF-8", DecoderFuzzer.ReasonKey("json log: not valid UTF-8"));
        Assert.Equal(
            "json log: malformed JSON",
            DecoderFuzzer.ReasonKey("json log: malformed JSON ('x' is invalid at line 1)")
        );
    }
}
