using LogWhisperer.Sources;

namespace LogWhisperer.Tests;

/// <summary>The revoke callback and the read of both Kafka sources, as librdkafka interleaves them.</summary>
public class ConsumerRevocationTests
{
    [Fact]
    public void TheCallbackFencesBeforeTheSourceCommitsAndTheReadEndsKeepingTheNewAssignmentsFirstMessage()
    {
        var revocation = new ConsumerRevocation<string>();
        var order = new List<string>();
        revocation.Revoking = () => order.Add("fence");
        revocation.ReadStarting();
        revocation.EndIfRevoked("a"); // nothing revoked: the read goes on

        revocation.Revoked(() => order.Add("commit and reset")); // inside Consume
        Assert.Equal(["fence", "commit and reset"], order);
        Assert.Equal(1, revocation.Count);
        Assert.Throws<PartitionsRevokedException>(() => revocation.EndIfRevoked("b"));

        revocation.ReadStarting(); // the next pipeline's read
        Assert.Equal("b", revocation.TakeCarried());
        Assert.Null(revocation.TakeCarried());
        revocation.EndIfRevoked("c");
    }

    [Fact]
    public void ClosingTheConsumerAfterTheLastPipelineStillCommitsWithNothingToFence()
    {
        var revocation = new ConsumerRevocation<string>();
        bool committed = false;
        revocation.Revoked(() => committed = true);
        Assert.True(committed);
    }
}
