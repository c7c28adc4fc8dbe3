namespace LogWhisperer.Features.Logs;

/// <summary>
/// Loghub's grouping accuracy: the share of lines whose predicted group holds exactly the same set of lines
/// as their ground-truth group. A ground-truth event counts only when all its lines share one predicted group
/// and that group holds no other line.
/// </summary>
internal static class GroupingAccuracy
{
    public static double Compute<TTruth, TPredicted>(IReadOnlyList<TTruth> truth, IReadOnlyList<TPredicted> predicted)
        where TTruth : notnull
        where TPredicted : notnull
    {
        if (truth.Count != predicted.Count)
            throw new ArgumentException("truth and prediction differ in length");
        if (truth.Count == 0)
            return 1;
        var predictedSize = predicted.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        int correct = 0;
        foreach (var group in Enumerable.Range(0, truth.Count).GroupBy(i => truth[i]))
        {
            var first = predicted[group.First()];
            int size = group.Count();
            if (group.All(i => predicted[i].Equals(first)) && predictedSize[first] == size)
                correct += size;
        }
        return (double)correct / truth.Count;
    }

    /// <summary>
    /// F1 of grouping (FGA, Jiang et al., Loghub-2.0, ISSTA 2024): a mined group is correct when it holds exactly the
    /// lines of one true group; precision is the share of mined groups that are correct, recall the share of true
    /// groups found.
    /// </summary>
    public static double F1<TTruth, TPredicted>(IReadOnlyList<TTruth> truth, IReadOnlyList<TPredicted> predicted)
        where TTruth : notnull
        where TPredicted : notnull
    {
        if (truth.Count != predicted.Count)
            throw new ArgumentException("truth and prediction differ in length");
        if (truth.Count == 0)
            return 1;
        var predictedSize = predicted.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        var truthGroups = Enumerable.Range(0, truth.Count).GroupBy(i => truth[i]).ToList();
        int correct = truthGroups.Count(g =>
            g.All(i => predicted[i].Equals(predicted[g.First()])) && predictedSize[predicted[g.First()]] == g.Count()
        );
        if (correct == 0)
            return 0;
        double precision = (double)correct / predictedSize.Count,
            recall = (double)correct / truthGroups.Count;
        return 2 * precision * recall / (precision + recall);
    }
}
