namespace LogWhisperer.Features.Metrics;

/// <summary>
/// Saturation of one container over a window, from cAdvisor / kube-state-metrics counters and gauges.
/// Each figure is NaN when its inputs are absent (unknown is not "fine").
/// </summary>
internal static class SaturationSignals
{
    /// <summary>Share of CFS periods in which the container was throttled:
    /// Δcontainer_cpu_cfs_throttled_periods_total / Δcontainer_cpu_cfs_periods_total (0..1).</summary>
    public static double CpuThrottling(double throttledPeriodsIncrease, double periodsIncrease) =>
        periodsIncrease > 0 && double.IsFinite(throttledPeriodsIncrease)
            ? Math.Clamp(throttledPeriodsIncrease / periodsIncrease, 0, 1)
            : double.NaN;

    /// <summary>CPU used against the CPU limit: rate(container_cpu_usage_seconds_total) / limit cores.</summary>
    public static double CpuVsLimit(double cpuCoresUsed, double limitCores) =>
        limitCores > 0 && double.IsFinite(cpuCoresUsed) ? cpuCoresUsed / limitCores : double.NaN;

    /// <summary>container_memory_working_set_bytes against the memory limit (an OOM kill comes near 1).</summary>
    public static double MemoryVsLimit(double workingSetBytes, double limitBytes) =>
        limitBytes > 0 && double.IsFinite(workingSetBytes) ? workingSetBytes / limitBytes : double.NaN;

    /// <summary>Restarts in the window: the increase of kube_pod_container_status_restarts_total
    /// (see <see cref="CounterRate"/>; a recreated pod starts again at 0, which counts as a reset).</summary>
    public static double Restarts(double restartsIncrease) =>
        double.IsFinite(restartsIncrease) ? Math.Max(0, restartsIncrease) : double.NaN;
}
