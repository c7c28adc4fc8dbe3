using LogWhisperer.Changes;
using LogWhisperer.Explain;
using LogWhisperer.Graph;
using LogWhisperer.Scoring;
using LogWhisperer.Simulation;

namespace LogWhisperer.Tests;

/// <summary>Changes as the engine's fourth input: the formats deploy tooling writes, the correlation stage, the
/// simulator's changes.</summary>
public class ChangeFormatTests
{
    private static readonly long T = DateTimeOffset.Parse("2026-01-01T00:07:30Z").ToUnixTimeMilliseconds();

    [Fact]
    public void GenericJsonIsReadWithItsVersionAndKind()
    {
        var (changes, ignored) = new ChangeDecoder("shop").Decode(
            """{"time": "2026-01-01T00:07:30Z", "service": "adservice", "kind": "deploy", "version": "v2", "fromVersion": "v1", "description": "canary"}"""
        );
        Assert.Null(ignored);
        var c = Assert.Single(changes);
        Assert.Equal(new ChangeEvent(T, "shop", "adservice", ChangeKind.Rollout, "v1", "v2", "canary", "generic"), c);
        Assert.Equal("the rollout of adservice v2", c.Phrase());
        var (numeric, _) = new ChangeDecoder("shop").Decode(
            "{\"time\": " + T + ", \"service\": \"cartservice\", \"kind\": \"config\", \"cluster\": \"eu\"}"
        );
        Assert.Equal(("eu", ChangeKind.Config, T), (numeric[0].Cluster, numeric[0].Kind, numeric[0].TimestampMs));
    }

    // A Deployment's event as kubernetes-event-exporter writes it (core/v1 Event, with the labels it adds).
    private static string KubeEvent(string rs, string time) =>
        $$$"""
            {"metadata":{"name":"cartservice.17b2d2c5a1f3e0a1","namespace":"shop","uid":"0f7c1f6e","resourceVersion":"1234","creationTimestamp":"{{{time}}}"},
             "reason":"ScalingReplicaSet","message":"Scaled up replica set {{{rs}}} to 1","source":{"component":"deployment-controller"},
             "firstTimestamp":"{{{time}}}","lastTimestamp":"{{{time}}}","count":1,"type":"Normal","eventTime":null,"reportingComponent":"deployment-controller","reportingInstance":"",
             "involvedObject":{"kind":"Deployment","namespace":"shop","name":"cartservice","uid":"9a8b","apiVersion":"apps/v1","resourceVersion":"5678","labels":{"app":"cartservice"} } }
            """;

    [Fact]
    public void KubernetesEventExporterEventsAreRolloutsWhenTheReplicaSetIsNewAndScalingsWhenNot()
    {
        var decoder = new ChangeDecoder("shop");
        var first = decoder.Decode(KubeEvent("cartservice-5d8f7c9b4", "2026-01-01T00:07:30Z")).Changes.Single();
        Assert.Equal(
            (ChangeKind.Rollout, "5d8f7c9b4", "kubernetes", T),
            (first.Kind, first.ToVersion, first.Source, first.TimestampMs)
        );
        var rollout = decoder.Decode(KubeEvent("cartservice-7c6b5a4f3", "2026-01-01T00:20:00Z")).Changes.Single();
        Assert.Equal(
            (ChangeKind.Rollout, "5d8f7c9b4", "7c6b5a4f3"),
            (rollout.Kind, rollout.FromVersion, rollout.ToVersion)
        );
        var scale = decoder.Decode(KubeEvent("cartservice-7c6b5a4f3", "2026-01-01T00:30:00Z")).Changes.Single();
        Assert.Equal(ChangeKind.Scale, scale.Kind);
        var (none, why) = decoder.Decode(
            """{"metadata":{"name":"x"},"reason":"Pulled","message":"Successfully pulled image","involvedObject":{"kind":"Pod","name":"cartservice-7c6b5a4f3-abcde"}}"""
        );
        Assert.Empty(none);
        Assert.Equal("Kubernetes event Pulled on Pod is not a change", why);
    }

    [Fact]
    public void FluxEventsNameEachConfiguredWorkloadAndConfigMap()
    {
        var (changes, _) = new ChangeDecoder("shop").Decode(
            """
            {"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"apps","uid":"1","apiVersion":"kustomize.toolkit.fluxcd.io/v1","resourceVersion":"2"},
             "severity":"info","timestamp":"2026-01-01T00:07:30Z","message":"Deployment/shop/cartservice configured\nConfigMap/shop/adservice-config configured",
             "reason":"ReconciliationSucceeded","metadata":{"revision":"main@sha1:2f1e4a9"},"reportingController":"kustomize-controller","reportingInstance":"kustomize-controller-7f5d"}
            """
        );
        Assert.Equal(
            [("cartservice", ChangeKind.Rollout), ("adservice", ChangeKind.Config)],
            changes.Select(c => (c.Service, c.Kind))
        );
        Assert.All(
            changes,
            c => Assert.Equal(("main@sha1:2f1e4a9", "flux", T), (c.ToVersion, c.Source, c.TimestampMs))
        );
    }

    [Fact]
    public void ArgoCdNotificationsAreSyncsFromThePreviousRevision()
    {
        var (changes, _) = new ChangeDecoder("shop").Decode(
            """
            {"app": {"metadata": {"name": "cartservice", "namespace": "argocd"},
             "status": {"sync": {"status": "Synced", "revision": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"},
                        "operationState": {"phase": "Succeeded", "startedAt": "2026-01-01T00:07:30Z", "finishedAt": "2026-01-01T00:07:41Z"},
                        "history": [{"id": 1, "revision": "0123456789abcdef0123456789abcdef01234567"}, {"id": 2, "revision": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"}],
                        "summary": {"images": ["gcr.io/shop/cartservice:v0.8.1"]}}}}
            """
        );
        var c = Assert.Single(changes);
        Assert.Equal(
            new ChangeEvent(
                T,
                "shop",
                "cartservice",
                ChangeKind.Rollout,
                "0123456",
                "v0.8.1",
                "Argo CD sync",
                "argocd"
            ),
            c
        );
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1]", "a change record is a JSON object")]
    [InlineData("""{"time": "2026-01-01T00:07:30Z"}""", "no 'service'")]
    [InlineData("""{"service": "a", "time": "yesterday"}""", "'time' is not an ISO 8601 time")]
    public void UnreadableRecordsSayWhy(string json, string reason)
    {
        var e = Assert.Throws<FormatException>(() => new ChangeDecoder("shop").Decode(json));
        Assert.Contains(reason, e.Message);
    }
}

public class ChangeCorrelatorTests
{
    private const long T0 = 1_767_225_600_000;

    /// <summary>A scored window of four services; every service deviates from its baseline (+5σ on one feature) unless
    /// listed as calm.</summary>
    private static ScoredSnapshot Scored(
        float[] probability,
        long windowStart = T0 + 600_000,
        float incident = 0.9f,
        params int[] calm
    )
    {
        string[] services = ["frontend", "cartservice", "redis-cart", "adservice"];
        int f = Features.FeatureSchema.NodeFeatureCount;
        int z = Enumerable
            .Range(0, f)
            .First(k => Features.FeatureSchema.NodeFeatures[k].Transform == Features.FeatureTransform.RobustZ);
        var nodeFeatures = new float[services.Length * f];
        for (int i = 0; i < services.Length; i++)
            if (!calm.Contains(i))
                nodeFeatures[i * f + z] = Features.FeatureSchema.Squash(5);
        var features = new Features.WindowFeatures(
            "shop",
            windowStart,
            windowStart + 30_000,
            services,
            new double[services.Length * Features.FeatureSchema.MeasurementCount],
            new double[services.Length * Features.FeatureSchema.MeasurementCount],
            nodeFeatures,
            new string?[services.Length],
            [(0, 1), (1, 2)],
            new double[2 * Features.FeatureSchema.EdgeMeasurements],
            new float[2 * Features.FeatureSchema.EdgeMeasurements],
            false
        );
        return new ScoredSnapshot(
            GraphSnapshot.From(features, null),
            probability,
            incident,
            new float[Enum.GetValues<FaultKind>().Length - 1],
            [0, 0],
            [0, 0]
        );
    }

    private static ChangeLog Log(params (string Service, long AtMs, ChangeKind Kind)[] changes)
    {
        var log = new ChangeLog();
        foreach (var (s, at, k) in changes)
            log.Add(new ChangeEvent(at, "shop", s, k, "v1", "v2", null));
        return log;
    }

    [Fact]
    public void ARecentChangeOfASuspectLiftsItAndIsTiedToTheVerdict()
    {
        var correlator = new ChangeCorrelator(
            Log(("redis-cart", T0 + 560_000, ChangeKind.Rollout)),
            new ChangeCorrelationOptions { LikelihoodRatios = [30, 3, 1] },
            0.5
        );
        var result = correlator.Apply(Scored([0.1f, 0.6f, 0.28f, 0.02f]));
        Assert.Equal(2, result.TopNode); // 0.28 × 30 beats 0.6
        Assert.Equal(1, result.RootProbability.Sum(), 4);
        Assert.Equal("redis-cart", result.Change!.Change.Service);
        Assert.Equal(40, result.Change.SecondsBeforeOnset);
        var rca = new Explainer(new ExplainerOptions()).Explain(result)!;
        Assert.Contains(
            "The incident began 40 s after the rollout of redis-cart v2 started (from v1).",
            rca.Explanation
        );
        Assert.Equal(
            new RcaChange(
                "redis-cart",
                "rollout",
                DateTimeOffset.FromUnixTimeMilliseconds(T0 + 560_000),
                40,
                "v1",
                "v2",
                null,
                "generic"
            ),
            rca.Change
        );
        Assert.Empty(RcaSchemaConsumer.Errors(RcaSchemaConsumer.Event, rca.ToJson()));
    }

    [Fact]
    public void AChangeIsNeverProofAChangedServiceThatBehavesAsBeforeGetsNothing()
    {
        // adservice changed just before the onset, with a huge ratio for such changes, but it does not deviate.
        var options = new ChangeCorrelationOptions { LikelihoodRatios = [1000, 1, 1] };
        var correlator = new ChangeCorrelator(Log(("adservice", T0 + 590_000, ChangeKind.Config)), options, 0.5);
        var result = correlator.Apply(Scored([0.01f, 0.97f, 0.019f, 0.001f], calm: 3));
        Assert.Equal(1, result.TopNode);
        Assert.Null(result.Change);
        Assert.Null(new Explainer(new ExplainerOptions()).Explain(result)!.Change);
        // The same change on a service that deviates is evidence.
        var deviant = new ChangeCorrelator(Log(("adservice", T0 + 590_000, ChangeKind.Config)), options, 0.5).Apply(
            Scored([0.01f, 0.97f, 0.019f, 0.001f])
        );
        Assert.Equal(3, deviant.TopNode);
        // A change ten minutes before the onset falls in a bin worth nothing here: no lift, and no change named.
        var old = new ChangeCorrelator(
            Log(("redis-cart", T0, ChangeKind.Rollout)),
            new ChangeCorrelationOptions { LikelihoodRatios = [30, 3, 1] },
            0.5
        ).Apply(Scored([0.1f, 0.3f, 0.58f, 0.02f]));
        Assert.Equal(2, old.TopNode);
        Assert.Null(old.Change);
    }

    [Fact]
    public void OnlyChangesWithinTheLookbackOfTheOnsetCountAndTheOnsetIsTheFirstAlarmedWindow()
    {
        var log = Log(
            ("redis-cart", T0 + 600_000 - 901_000, ChangeKind.Rollout),
            ("adservice", T0 + 700_000, ChangeKind.Rollout)
        );
        var correlator = new ChangeCorrelator(log, new ChangeCorrelationOptions { LikelihoodRatios = [30, 3, 1] }, 0.5);
        float[] p = [0.1f, 0.6f, 0.28f, 0.02f];
        Assert.Equal(p, correlator.Apply(Scored(p)).RootProbability); // too old, and in the future
        // Three windows later the incident's onset is still the first alarmed window: the adservice change came 100 s
        // after it.
        var later = correlator.Apply(Scored([0.1f, 0.6f, 0.28f, 0.02f], T0 + 690_000));
        Assert.Equal(p, later.RootProbability);
        // A quiet window ends the incident; the next alarm starts a new one.
        correlator.Apply(Scored(p, T0 + 720_000, incident: 0.1f));
        Assert.Equal(3, correlator.Apply(Scored([0.1f, 0.6f, 0.28f, 0.05f], T0 + 750_000)).TopNode);
    }

    [Fact]
    public void TheRatioFitFavoursChangesOnlyAsFarAsTheyTellTheRootApart()
    {
        // Recent changes (bin 0): half the time the root's, half the time a runner-up's benign one; older changes
        // (bin 1) are always benign. The recent bin's ratio is finite and above 1, the older one's stays 1.
        var windows = new List<(float[], int[], int)>();
        for (int i = 0; i < 10; i++)
        {
            windows.Add(([0.5f, 0.4f, 0.1f], [-1, 0, 1], 1));
            windows.Add(([0.7f, 0.2f, 0.1f], [-1, 0, 1], 0));
        }
        var ratios = ChangeCorrelator.Fit(windows, bins: 2);
        Assert.InRange(ratios[0], 1.5, 10);
        Assert.Equal(1, ratios[1]);
        Assert.Equal([1.0], ChangeCorrelator.Fit([([0.9f, 0.1f], [-1, 0], 0)], bins: 1));
    }
}

public class SimulatorChangeTests
{
    [Fact]
    public void ChangeCausedFaultsEmitTheirChangeAndBenignChangesHappenBesideThem()
    {
        var topology = Topology.Load(TestData.TopologyPath("online-boutique"));
        var sim = new SimulationOptions { Seed = 3, ConcurrentBenignChanges = 1 };
        long t0 = sim.StartMs;
        var simulator = new ChaosSimulator(
            topology,
            sim,
            [
                new Fault("cartservice", FaultKind.BadDeploy, t0 + 300_000, t0 + 480_000, 0.5),
                new Fault("adservice", FaultKind.ConfigChange, t0 + 900_000, t0 + 1_080_000, 0.5),
            ]
        );
        var logs = simulator.RunUntil(t0 + 1_200_000).SelectMany(b => b).OfType<Telemetry.LogRecord>().ToList();
        var changes = simulator.Changes;
        var bad = changes.Single(c =>
            c.Service == "cartservice"
            && c.TimestampMs is >= 260_000 + 1_767_225_600_000 and < 300_000 + 1_767_225_600_000
        );
        Assert.Equal((ChangeKind.Rollout, "simulator"), (bad.Kind, bad.Source));
        Assert.NotEqual(bad.FromVersion, bad.ToVersion);
        var config = changes.Single(c =>
            c.Service == "adservice"
            && c.Kind == ChangeKind.Config
            && Math.Abs(c.TimestampMs - (t0 + 900_000)) <= 40_000
        );
        Assert.Contains("max_connections", config.Description);
        // Benign changes to other services within a minute of each bad one: "something changed" is no proof.
        Assert.Contains(
            changes,
            c => c.Service != "cartservice" && Math.Abs(c.TimestampMs - bad.TimestampMs) <= 60_000
        );
        Assert.Contains(
            changes,
            c => c.Service != "adservice" && Math.Abs(c.TimestampMs - config.TimestampMs) <= 60_000
        );
        Assert.Contains(
            logs,
            l => l.Service == "adservice" && l.Message.Contains("timed out waiting for a connection from the pool")
        );
        Assert.True(changes.Zip(changes.Skip(1)).All(p => p.First.TimestampMs <= p.Second.TimestampMs + 60_000));
    }

    [Fact]
    public void ChangesLeaveTheTrafficOfOtherFaultsAsItWas()
    {
        // Changes draw from their own generator: a run without change-caused faults simulates the same spans.
        var topology = Topology.Load(TestData.TopologyPath("online-boutique"));
        long t0 = new SimulationOptions().StartMs;
        Fault[] faults = [new Fault("cartservice", FaultKind.Latency, t0 + 60_000, t0 + 120_000, 0.5)];
        static int Spans(ChaosSimulator s, long end) =>
            s.RunUntil(end).Sum(b => b.Count(r => r is Telemetry.SpanRecord));
        var a = new ChaosSimulator(topology, new SimulationOptions { Seed = 9 }, faults);
        var b = new ChaosSimulator(
            topology,
            new SimulationOptions
            {
                Seed = 9,
                BenignConfigChangesPerHour = 0,
                ConcurrentBenignChanges = 0,
            },
            faults
        );
        Assert.Equal(Spans(a, t0 + 180_000), Spans(b, t0 + 180_000));
    }
}

public class ChangeTopicTests
{
    [Fact]
    public void AChangesTopicMessageGoesToTheChangeLogAndABadOneIsRefusedWhole()
    {
        var log = new ChangeLog();
        var decoder = Decode.Formats.TelemetryDecoders.For(
            Decode.Formats.TelemetryFormat.Changes,
            new Decode.Formats.DecodeOptions { DefaultCluster = "shop", Changes = log }
        );
        var output = new List<Telemetry.TelemetryRecord>();
        decoder.Decode(
            """
            {"time": "2026-01-01T00:07:30Z", "service": "adservice", "kind": "rollout", "version": "v2"}
            {"time": "2026-01-01T00:07:45Z", "service": "cartservice", "kind": "config"}
            """u8,
            output
        );
        Assert.Empty(output); // changes are not telemetry
        Assert.Equal(2, log.Count);
        Assert.Equal(["adservice", "cartservice"], log.Between("shop", 0, long.MaxValue).Select(c => c.Service));
        var e = Assert.Throws<InvalidDataException>(() =>
            decoder.Decode(
                """
            {"time": "2026-01-01T00:08:00Z", "service": "frontend", "kind": "rollout"}
            {"service": "x"}
            """u8,
                output
            )
        );
        Assert.Contains("change record: generic change: no 'time'", e.Message);
        Assert.Equal(2, log.Count); // all or nothing
        Assert.Equal(Decode.Formats.TelemetryFormat.Changes, Decode.Formats.TelemetryDecoders.Parse("changes"));
    }
}
