namespace LogWhisperer.Simulation;

/// <summary>
/// What the active faults (and benign events) do to one service at one instant. Computed afresh each
/// simulated second from the fault list, so the effect of a fault is a pure function of time.
/// </summary>
internal struct ServiceState
{
    public double LatencyFactor;
    public double ExtraLatencyMs;
    public double ErrorRate;
    public bool BadDeployErrors;

    /// <summary>Errors come from a bad configuration value (pool exhaustion), not from code.</summary>
    public bool ConfigErrors;
    public bool Down;
    public double ExtraCpuCores;
    public double MemoryMb;
    public double IncomingLossRate;
    public int Restarts;
    public bool HighMemory;

    /// <summary>The container crashed during this second (a crash loop's fatal exit).</summary>
    public bool Crashed;

    /// <summary>Share of requests stuck behind a slow store (lock wait, slow disk), and how long they wait.</summary>
    public double SlowShare;
    public double SlowExtraMs;

    /// <summary>Delay added to every packet to and from the pod (network delay), in ms.</summary>
    public double NetworkDelayMs;

    /// <summary>Its failures are not logged by itself, only by its callers (an exception thrown across the RPC
    /// boundary).</summary>
    public bool SilentErrors;

    /// <summary>Share of its answers that succeed but carry a wrong value, which the caller then fails on.</summary>
    public double WrongReturnRate;

    /// <summary>The share of requests a healthy service fails, at least
    /// (<see cref="SimulationOptions.MaxBackgroundErrorRate"/> raises it per service; a faulty one fails
    /// more).</summary>
    public const double NormalErrorRate = 0.001;

    /// <param name="errorRate">The share of requests it fails while healthy (its own background failures).</param>
    public static ServiceState Normal(ServiceSpec spec, double errorRate) =>
        new()
        {
            LatencyFactor = 1,
            ErrorRate = errorRate,
            MemoryMb = spec.MemoryMb,
        };

    /// <summary>Applies one fault at <paramref name="now"/>; also counts restarts it caused (even after it
    /// ended).</summary>
    public void Apply(Fault fault, ServiceSpec spec, long now)
    {
        if (now < fault.StartMs)
            return;
        double elapsedS = (Math.Min(now, fault.EndMs) - fault.StartMs) / 1000.0;
        bool active = fault.IsActive(now);
        double x = fault.Intensity;
        switch (fault.Kind)
        {
            case FaultKind.Latency when active:
                ExtraLatencyMs += 80 + 600 * x;
                break;
            case FaultKind.Errors when active:
                ErrorRate += 0.15 + 0.6 * x;
                SilentErrors |= fault.SurfacesInCaller;
                break;
            case FaultKind.NetworkDelay when active:
                NetworkDelayMs += 20 + 120 * x;
                break;
            case FaultKind.PodKill:
                // Down until Kubernetes has restarted it (longer for a harder kill: image pull, slow start).
                double downForS = 20 + 60 * x;
                if (active && elapsedS < downForS)
                    Down = true;
                else
                {
                    Restarts += 1;
                    if (active)
                        LatencyFactor *= 2;
                } // cold caches after the restart
                break;
            case FaultKind.CpuHog when active:
                ExtraCpuCores += 0.5 + 1.5 * x;
                LatencyFactor *= 2 + 4 * x;
                break;
            case FaultKind.MemoryLeak:
            {
                // Fills the gap to the limit in (150 - 100x) s, then the OOM killer restarts it (10 s down).
                double fillS = 150 - 100 * x,
                    cycleS = fillS + 10;
                int cycles = (int)(elapsedS / cycleS);
                double phase = elapsedS - cycles * cycleS;
                Restarts += cycles;
                if (!active)
                    break;
                if (phase >= fillS)
                {
                    Down = true;
                    Restarts += 1;
                    break;
                }
                double fill = phase / fillS;
                MemoryMb += (spec.MemoryLimitMb - spec.MemoryMb) * fill;
                LatencyFactor *= 1 + 6 * Math.Pow(fill, 3); // GC pressure
                HighMemory |= fill > 0.5;
                break;
            }
            case FaultKind.NetworkLoss when active:
                IncomingLossRate += 0.15 + 0.5 * x;
                break;
            case FaultKind.CrashLoop:
                ApplyCrashLoop(elapsedS, active, x);
                break;
            case FaultKind.SlowDependency when active:
                SlowShare += 0.2 + 0.5 * x;
                SlowExtraMs += 300 + 1200 * x;
                break;
            case FaultKind.ConfigChange when active:
                // Hot-reloaded (no restart): requests queue for the few pooled connections, some time out.
                ErrorRate += 0.05 + 0.35 * x;
                ExtraLatencyMs += 40 + 300 * x;
                ConfigErrors = true;
                break;
            case FaultKind.BadDeploy:
                Restarts += 1; // the rollout replaced the pod
                if (!active)
                    break;
                if (fault.SurfacesInCaller)
                    WrongReturnRate += 0.15 + 0.6 * x; // the new version returns nulls
                else
                {
                    ErrorRate += 0.1 + 0.5 * x;
                    BadDeployErrors = true;
                }
                break;
        }
    }

    /// <summary>
    /// Each life lasts (12 - 8x) s, then the container exits and Kubernetes waits a back-off that doubles from
    /// 10 s up to a 40 s cap (CrashLoopBackOff) before starting it again. Once the fault ends the next start sticks.
    /// </summary>
    private void ApplyCrashLoop(double elapsedS, bool active, double x)
    {
        double lifeS = 12 - 8 * x,
            t = 0,
            backoffS = 10;
        while (true)
        {
            if (elapsedS < t + lifeS)
            {
                if (active)
                {
                    ErrorRate += 0.05;
                    Crashed = elapsedS >= t + lifeS - 1;
                } // requests racing the exit fail
                return;
            }
            Restarts += 1;
            if (active && elapsedS < t + lifeS + backoffS)
            {
                Down = true;
                return;
            }
            t += lifeS + backoffS;
            backoffS = Math.Min(backoffS * 2, 40);
        }
    }
}
