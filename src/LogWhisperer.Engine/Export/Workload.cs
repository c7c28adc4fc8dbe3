namespace LogWhisperer.Export;

/// <summary>
/// Kubernetes names for a simulated service, stable for its name: the pod is named as a Deployment's pods
/// are (deployment-replicasethash-suffix, from Kubernetes' consonant-and-digit alphabet), so every wire
/// format labels the same workload the same way.
/// </summary>
internal static class Workload
{
    private const string Alphabet = "bcdfghjklmnpqrstvwxz2456789";

    // Exporters name a pod per record; a mesh has few services, so names are made once.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Pods = new(
        StringComparer.Ordinal
    );

    public static string PodName(string service) => Pods.GetOrAdd(service, MakePodName);

    private static string MakePodName(string service)
    {
        ulong h = 14695981039346656037UL; // FNV-1a
        foreach (char c in service)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        Span<char> chars = stackalloc char[16];
        for (int i = 0; i < 16; i++)
        {
            chars[i] = Alphabet[(int)(h % (ulong)Alphabet.Length)];
            h = h / (ulong)Alphabet.Length ^ (h << 7);
        }
        return $"{service}-{chars[..10]}-{chars[11..]}";
    }
}
