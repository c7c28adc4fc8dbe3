using TorchSharp;
using static TorchSharp.torch;

namespace LogWhisperer.Scoring;

/// <summary>Chooses where tensors live, at run time: CUDA when a GPU is usable, the CPU otherwise.</summary>
public static class ComputeDevice
{
    /// <param name="preference">"auto" (default), "cpu" or "cuda".</param>
    public static Device Select(string preference = "auto")
    {
        switch (preference.ToLowerInvariant())
        {
            case "cpu":
                return CPU;
            case "cuda":
                if (!cuda.is_available())
                    throw new InvalidOperationException("CUDA was requested but no usable GPU was found");
                return CUDA;
            case "auto":
                return cuda.is_available() ? CUDA : CPU;
            default:
                throw new ArgumentException($"unknown device '{preference}' (auto, cpu or cuda)");
        }
    }

    public static string Describe(Device device) =>
        device.type == DeviceType.CUDA
            ? $"cuda ({cuda.device_count()} device(s))"
            : $"cpu ({get_num_threads()} threads)";
}
