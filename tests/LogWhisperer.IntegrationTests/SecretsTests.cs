using LogWhisperer.Explain;
using LogWhisperer.Kafka;

namespace LogWhisperer.Tests;

/// <summary>Credentials never leave the engine: not in Kafka settings as printed, not in CLI output, not in
/// explanations.</summary>
public class SecretsTests
{
    private const string Password = "Sup3rS3cretKafkaPass";

    [Fact]
    public void KafkaSettingsPrintCredentialsRedacted()
    {
        var settings = new KafkaSettings
        {
            BootstrapServers = "broker:9093",
            ClientConfig = KafkaSettings.ParseProperties([
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.username=engine",
                "sasl.password=" + Password,
                "ssl.key.password=" + Password,
            ]),
        };
        var text = settings.ToString();
        Assert.DoesNotContain(Password, text);
        Assert.Contains("sasl.password=***", text);
        Assert.Contains("sasl.username=engine", text);
        Assert.Contains("security.protocol=SASL_SSL", text);
        // The real values still reach librdkafka.
        Assert.Equal(Password, settings.Apply(new Confluent.Kafka.ProducerConfig()).SaslPassword);
        var e = Assert.Throws<ArgumentException>(() => KafkaSettings.ParseProperties(["sasl.password:" + Password]));
        Assert.DoesNotContain(Password, e.Message);
    }

    [Fact]
    public void TheCliNeverPrintsTheSaslPassword()
    {
        // A typo'd property and a librdkafka configuration error: both reported, neither echoing the password.
        var typo = CliTests.Run("gateway", "-b", "127.0.0.1:1", "-X", "sasl.password:" + Password);
        Assert.NotEqual(0, typo.Exit);
        var bad = CliTests.Run(
            "gateway",
            "-b",
            "127.0.0.1:1",
            "--listen",
            "127.0.0.1:0",
            "-X",
            "sasl.password=" + Password,
            "-X",
            "sasl.mechanism=PLAIN",
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "no.such.property=1"
        );
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("no.such.property", bad.Out + bad.Err);
        foreach (var output in new[] { typo.Out, typo.Err, bad.Out, bad.Err })
            Assert.DoesNotContain(Password, output);
    }

    [Theory]
    [InlineData(
        "auth failed for "
            + "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    )]
    [InlineData("Authorization: Bearer abcdef0123456789abcdef", "abcdef0123456789abcdef")]
    [InlineData("GET /api with authorization=Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy")]
    [InlineData("using key AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE")]
    [InlineData(
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )]
    [InlineData("Server=db;Database=shop;User Id=app;Password=hunter2;", "hunter2")]
    [InlineData("connect postgres://app:hunter2@db.internal:5432/shop failed", "hunter2")]
    [InlineData("redis://:s3cr3tpw@cache:6379 timed out", "s3cr3tpw")]
    [InlineData(
        "AccountName=shop;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="
    )]
    [InlineData("mail to jane.doe@example.com bounced", "jane.doe@example.com")]
    [InlineData("login failed: password = 'hunter2'", "hunter2")]
    [InlineData("api_key: sk_live_51HxYzAbCdEf", "sk_live_51HxYzAbCdEf")]
    public void ExplanationsNeverCarrySecrets(string text, string secret)
    {
        var masked = SecretMasker.Mask(text);
        Assert.DoesNotContain(secret, masked);
        Assert.NotEqual(text, masked);
    }

    [Fact]
    public void OrdinaryTextIsLeftAlone()
    {
        const string text = "GET /cart 500 in 1200ms: upstream redis timeout after 3 retries (pool 10/10)";
        Assert.Equal(text, SecretMasker.Mask(text));
    }
}
