namespace LogWhisperer.Features.Logs;

/// <summary>
/// Loghub's grouping accuracy: the share of lines whose predicted group holds exactly the same set of lines
/// as their ground-truth group. A ground-truth event counts only when all its lines share one predicted group
/// and that group holds no other line.
/// </summary>
public static class GroupingAccuracy
{
    public static double Compute<TTruth, TPredicted>(IReadOnlyList<TTruth> truth, IReadOnlyList<TPredicted> predicted)
        where TTruth : notnull where TPredicted : notnull
    {
        if (truth.Count != predicted.Count) throw new ArgumentException("truth and prediction differ in length");
        if (truth.Count == 0) return 1;
        var predictedSize = predicted.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        int correct = 0;
        foreach (var group in Enumerable.Range(0, truth.Count).GroupBy(i => truth[i]))
        {
            var first = predicted[group.First()];
            int size = group.Count();
            if (group.All(i => predicted[i].Equals(first)) && predictedSize[first] == size) correct += size;
        }
        return (double)correct / truth.Count;
    }
}
